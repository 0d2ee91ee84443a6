"""The Celery app, configured from the service settings (GRADER_BROKER_URL and the rest).

Delivery guarantees, as measured with Celery 5.7 on Redis:

- ``task_acks_late`` with ``task_reject_on_worker_lost``: a task whose worker dies goes back to the queue
  instead of being lost or marked failed. Such a task is handed out again and again, so redeliveries are
  counted in the database and the work is given up with a stored error after ``max_deliveries``.
- A whole worker killed leaves its messages in Redis's unacked set until ``visibility_timeout`` passes and
  some worker's restore sweep runs. Kombu sweeps every ``unacked_restore_interval`` x ``unacked_restore_throttle``
  seconds (100 s by default); the throttle is set to 1 so the interval alone decides.
- A hard time limit requeues the task (``task_acks_on_timeout`` off), so it is counted like a crash.
"""

from __future__ import annotations

from celery import Celery

from grader.service.dispatch import TASK_CHUNK, TASK_GRADE, TASK_PLAN
from grader.service.settings import Settings, get_settings

QUEUE = "grading"


def make_celery(settings: Settings) -> Celery:
    app = Celery("grader", broker=settings.broker_url or None, include=["workers.tasks"], set_as_current=False)
    app.conf.update(
        task_default_queue=QUEUE,
        task_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,  # results live in the database
        result_backend=None,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_acks_on_failure=True,
        task_acks_on_timeout=False,
        worker_prefetch_multiplier=1,  # a worker holds no more messages than it is running
        # On, for `grader worker --ping` (the healthcheck asks the worker itself); only ping is used.
        worker_enable_remote_control=True,
        worker_send_task_events=False,
        worker_hijack_root_logger=False,
        broker_connection_retry_on_startup=True,
        broker_connection_max_retries=None,  # keep trying while Redis is away; the sweep catches up after
        # Tasks running when the broker connection drops are redelivered anyway (late acks): stop them.
        worker_cancel_long_running_tasks_on_connection_loss=True,
        broker_transport_options={
            "visibility_timeout": settings.visibility_timeout,
            "unacked_restore_interval": settings.unacked_restore_interval,
            "unacked_restore_throttle": 1,
            "socket_timeout": 10,
            "socket_connect_timeout": 3,
        },
        task_annotations={
            TASK_GRADE: {"soft_time_limit": settings.task_soft_time_limit, "time_limit": settings.task_time_limit},
            TASK_CHUNK: {"soft_time_limit": settings.chunk_soft_time_limit, "time_limit": settings.chunk_time_limit},
            TASK_PLAN: {"soft_time_limit": settings.chunk_soft_time_limit, "time_limit": settings.chunk_time_limit},
        },
    )
    if settings.worker_concurrency:
        app.conf.worker_concurrency = settings.worker_concurrency
    return app


app = make_celery(get_settings())
