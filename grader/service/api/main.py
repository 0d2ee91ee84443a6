"""The FastAPI application: routes under /api/v1, OpenAPI at /openapi.json, JSON errors, a body size limit."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, Depends, FastAPI, Request
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from grader.service import setload
from grader.service.db import make_engine, make_sessionmaker
from grader.service.dispatch import CeleryDispatcher, Dispatcher, InProcessDispatcher
from grader.service.errors import Invalid, Unavailable
from grader.service.settings import Settings
from grader.service.sweep import Sweeper
from grader.web.pages import router as pages_router

from . import errors
from .deps import Service, ServiceDep
from .routes import grades, regrades, sets, students, submissions, users

API_PREFIX = "/api/v1"


def make_dispatcher(service_settings: Settings, factory: sessionmaker[Session], *, background: bool = False) -> \
        Dispatcher:
    """Celery on the broker when one is configured; otherwise a grading thread in this process."""
    if service_settings.embedded:
        return InProcessDispatcher(factory, service_settings)
    from workers.app import make_celery

    return CeleryDispatcher(make_celery(service_settings), background=background)


def known_query(request: Request) -> None:
    """Refuse query parameters an operation does not take (a typo such as ?enrol=... would be ignored)."""
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    if dependant is None:
        return
    known: set[str] = set()
    stack = [dependant]
    while stack:  # the operation's own query parameters and those of its dependencies
        current = stack.pop()
        known.update(p.alias for p in current.query_params)
        stack.extend(current.dependencies)
    unknown = sorted(k for k in request.query_params if k not in known)
    if unknown:
        takes = ", ".join(sorted(known)) if known else "none"
        raise Invalid(f"unknown query parameter {unknown[0]!r}{' and more' if len(unknown) > 1 else ''} "
                      f"(this operation takes: {takes})", field=unknown[0])


def create_app(settings: Settings | None = None, *, dispatcher: Dispatcher | None = None) -> FastAPI:
    settings = settings or Settings()
    engine = make_engine(settings.database_url, pool_size=10)
    factory = make_sessionmaker(engine)
    service = Service(settings, engine, factory, dispatcher or make_dispatcher(settings, factory, background=True),
                      Service.limiter_for(settings))

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # the fork server that loads uploaded sets imports the loader once: started now, not on the first upload
        threading.Thread(target=setload.prestart, name="grader-set-loader-start", daemon=True).start()
        sweeper = None
        if isinstance(service.dispatcher, InProcessDispatcher):
            service.dispatcher.start()
            sweeper = Sweeper(factory, settings, service.dispatcher)
            sweeper.start()
        try:
            yield
        finally:
            if sweeper is not None:
                sweeper.stop()
            if isinstance(service.dispatcher, InProcessDispatcher):
                service.dispatcher.stop()
            if isinstance(service.dispatcher, CeleryDispatcher):
                service.dispatcher.close()
            engine.dispose()

    # docs_url and redoc_url off: those pages load their scripts from a CDN; /openapi.json stays
    app = FastAPI(title="grader", version="1", lifespan=lifespan, docs_url=None, redoc_url=None,
                  default_response_class=errors.SafeJSONResponse,
                  description="Grades hand-calculation homework on small neural networks. Authenticate with "
                              "'Authorization: Bearer <token>' (tokens come from `grader user add`).")
    app.state.service = service
    errors.install(app)
    api = APIRouter(prefix=API_PREFIX, responses=errors.API_ERRORS, dependencies=[Depends(known_query)])
    for module in (users, sets, students, submissions, regrades, grades):
        api.include_router(module.router)
    app.include_router(api)
    app.include_router(pages_router)  # the HTML pages for students and instructors (docs/web.md)
    app.add_api_route("/health", health, methods=["GET"], tags=["service"],
                      responses=errors.error_responses(400, 413, 422, 500, 503))
    app.add_middleware(errors.BodyLimit, limit=settings.max_body_bytes)
    app.add_middleware(errors.ValidAddress)
    return app


def health(service: ServiceDep) -> dict[str, str]:
    """200 when the database answers (the container healthcheck)."""
    try:
        with service.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:
        raise Unavailable(f"the database does not answer: {type(exc).__name__}") from None
    return {"status": "ok", "mode": "embedded" if service.settings.embedded else "distributed"}
