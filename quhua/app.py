"""The Starlette application: the console at /, GraphQL at /graphql, a health check, CORS,
and limits on a request's body, time and query cost."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import async_sessionmaker
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles

from authz.authentication import Authenticator
from core.db.engine import async_engine
from core.db.replicas import ReadReplicas
from core.db.routed_session import RoutedSession
from core.db.statement_spans import trace_statements
from quhua.console.boundaries import load_boundaries
from quhua.console.routes import console_routes
from quhua.console.secret import console_secret
from quhua.database_outage import DatabaseOutage
from quhua.exports.routes import export_routes
from quhua.feed_routes import feed_routes
from quhua.graphql_view import QuhuaGraphQL
from quhua.http_door import HttpDoor
from quhua.limits import BodySizeLimit
from quhua.migrate import ensure_current
from quhua.persisted_queries import persisted_queries
from quhua.policy_sync import keep_in_sync, sync_once
from quhua.rate_limits import RateLimit, TokenBuckets
from quhua.request_limits import RequestLimits
from quhua.settings import Settings
from quhua.sso import oidc_verifier
from quhua.telemetry import setup as telemetry
from quhua.telemetry.middleware import RequestTelemetry
from quhua.upload import import_routes
from resolvers.feed.slots import SubscriptionSlots
from schema.root import schema


def serving_app() -> Starlette:
    """The app as `quhua serve` starts it in each worker process, its heap then frozen.

    What building the app made (the schema and its types, the routes, the imported modules)
    lives as long as the process: `gc.freeze` leaves it out of every later collection, which
    would otherwise scan it whole each time the requests' garbage fills the oldest
    generation. Garbage is collected first, so that none of it is kept for good.
    """
    app = create_app()
    gc.collect()
    gc.freeze()
    return app


def create_app(settings: Settings | None = None) -> Starlette:
    """The ASGI application for the settings (by default, those of the environment)."""
    settings = settings or Settings()
    telemetry.configure_from_environment()
    # A pooled connection to PostgreSQL may have died with its server (a restart): each is
    # checked as it leaves the pool. One to a SQLite file cannot, and the check would cost
    # a statement a request (three hand-offs to the driver's thread).
    on_server = make_url(settings.url).get_backend_name() != "sqlite"
    engine = async_engine(settings.url, pool_pre_ping=on_server)
    if telemetry.tracing():
        trace_statements(engine.sync_engine)
    # RoutedSession: a read-only GraphQL request may move to a read replica.
    sessions = async_sessionmaker(engine, expire_on_commit=False, sync_session_class=RoutedSession)
    replicas = ReadReplicas(
        settings.read_replica_urls,
        primary_url=settings.url,
        retry_seconds=settings.read_replica_retry_seconds,
        callers=settings.read_replica_callers,
    )
    authenticator = Authenticator(oidc=oidc_verifier(settings))
    graphql = QuhuaGraphQL(
        schema,
        sessions=sessions,
        authenticator=authenticator,
        graphiql=settings.graphiql,
        persisted=persisted_queries(settings),
        replicas=replicas,
        subscription_slots=SubscriptionSlots(settings.subscriptions_per_caller),
    )
    door = HttpDoor(sessions, authenticator, replicas)
    # Checked now: a wrong boundary file stops the start, saying what is wrong in it.
    boundaries = load_boundaries(settings.boundaries) if settings.boundaries else None

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        poller = None
        stop = asyncio.Event()
        try:
            async with engine.connect() as connection:
                await connection.run_sync(ensure_current)
            await sync_once(sessions, authenticator)
            poller = asyncio.create_task(
                keep_in_sync(sessions, authenticator, settings.policy_poll_seconds, stop)
            )
            yield
        finally:
            if poller is not None:
                stop.set()
                await poller
                await sync_once(sessions, authenticator)
            await engine.dispose()
            await replicas.dispose()

    async def health(_request: Request) -> Response:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
        return JSONResponse({"status": "ok"})

    return Starlette(
        # The router tries each route in turn, and most requests are GraphQL's: first. No
        # two routes answer the same request, so the order decides nothing else.
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            # Subscriptions (graphql-transport-ws).
            WebSocketRoute("/graphql", graphql),
            Route("/healthz", health),
            # The console: the sign-in page, or the viewer's dashboard.
            *console_routes(door, authenticator, console_secret(settings), boundaries),
            *export_routes(door),
            *feed_routes(door),
            *import_routes(door),
            # GraphiQL's scripts and styles: the page works with no internet access.
            Mount("/static", StaticFiles(packages=[("quhua", "static")]), name="static"),
        ],
        middleware=[
            # Off unless OTEL_* variables ask (quhua/telemetry/setup.py); outermost, so that
            # everything the request runs is in its trace.
            *([Middleware(RequestTelemetry)] if telemetry.enabled() else []),
            # The time limit covers the whole request, and a client gone away stops
            # everything inside.
            Middleware(
                RequestLimits,
                timeout_seconds=settings.request_timeout_seconds,
                max_query_cost=settings.max_query_cost,
            ),
            Middleware(BodySizeLimit, max_bytes=settings.max_body_bytes),
            Middleware(
                CORSMiddleware,
                allow_origins=settings.cors_origins,
                allow_methods=["GET", "POST"],
                # Accept for graphql-response+json, the W3C trace context of browser
                # tracing, and the client names Apollo's clients send.
                allow_headers=[
                    "Authorization",
                    "Content-Type",
                    "Accept",
                    "traceparent",
                    "tracestate",
                    "apollographql-client-name",
                    "apollographql-client-version",
                ],
                # A browser's client reads when to retry a rate-limited request.
                expose_headers=["Retry-After"],
            ),
            # Inside CORS, so that a refusal carries its headers and a browser can read it.
            *_rate_limit(settings),
            # Inside CORS too: a browser reads the 503's Retry-After.
            Middleware(DatabaseOutage),
        ],
        lifespan=lifespan,
    )


def _rate_limit(settings: Settings) -> list[Middleware]:
    """The rate limit's middleware, if the settings ask for one."""
    if not settings.rate_limit_per_second:
        return []
    buckets = TokenBuckets(
        rate=settings.rate_limit_per_second,
        burst=settings.rate_limit_burst,
        callers=settings.rate_limit_callers,
    )
    return [Middleware(RateLimit, buckets=buckets)]
