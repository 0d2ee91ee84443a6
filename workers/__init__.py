"""Celery workers for the distributed setup: ``grader worker`` (or ``celery -A workers.app worker``)."""
