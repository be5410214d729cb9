"""The FastAPI application: routes are listed in one table at the bottom."""

from __future__ import annotations

import gzip
import hmac
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures.process import BrokenProcessPool
from contextlib import asynccontextmanager
from dataclasses import asdict
from datetime import timedelta
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import ValidationError
from starlette.routing import BaseRoute, Route

from dlbot.bot.api.limits import BodySizeLimit
from dlbot.bot.api.page import PAGE_ROUTES
from dlbot.bot.platforms.messages import NOT_CONNECTED
from dlbot.bot.platforms.table import PLATFORMS
from dlbot.bot.runs.events import apply_events, foreign_runs
from dlbot.bot.service import Service
from dlbot.bot.store.tokens import Principal
from dlbot.bot.wire_in import EventBody, EventsResult, IngestResult
from dlbot.bot.wire_reports import REPORT_BODY, decode_reports

bearer = HTTPBearer(auto_error=False)
log = logging.getLogger("dlbot.api")

_REPORT_DOC = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ReportBody"}}},
    },
    "security": [{"HTTPBearer": []}],
}


async def _service(request: Request) -> Service:
    # async: FastAPI would run a plain function in a worker thread on every request.
    service: Service = request.app.state.service
    return service


ServiceDep = Annotated[Service, Depends(_service)]
_BEARER = {"WWW-Authenticate": "Bearer"}


async def agent_principal(
    service: ServiceDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    return await _authenticate(service, None if credentials is None else credentials.credentials)


async def _authenticate(service: Service, token: str | None) -> Principal:
    if token is None:
        raise HTTPException(401, "missing bearer token", headers=_BEARER)
    principal = await service.tokens.authenticate(token)
    if principal is None:
        raise HTTPException(401, "invalid or revoked token", headers=_BEARER)
    return principal


def _bearer_token(request: Request) -> str | None:
    """The token of an ``Authorization: Bearer`` header, as fastapi's HTTPBearer reads it."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token if scheme.lower() == "bearer" and token else None


async def post_reports(request: Request) -> Response:
    """Accept one host report or a list of them (an agent draining its spool)."""
    # The hot path (see ROUTES): the token is checked first, then the body is decoded and
    # checked in one pass (wire_reports).
    service = await _service(request)
    principal = await _authenticate(service, _bearer_token(request))
    try:
        reports = decode_reports(await request.body())
    except ValidationError as exc:
        raise RequestValidationError(
            [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)]
        ) from None
    _check_hosts(principal, [report.host for report in reports])
    outcome = await service.writer.submit(reports)
    service.metrics.reports.inc(outcome.accepted)
    return Response(
        b'{"accepted":%d,"stale":%d}' % (outcome.accepted, outcome.stale),
        media_type="application/json",
    )


def _check_hosts(principal: Principal, hosts: list[str]) -> None:
    if principal.scope == "read":
        raise HTTPException(403, "a read token may not report")
    for host in hosts:
        if not principal.may_report_for(host):
            raise HTTPException(
                403, f"this token is bound to host {principal.host_name!r}, not {host!r}"
            )


async def post_events(
    body: EventBody,
    service: ServiceDep,
    principal: Annotated[Principal, Depends(agent_principal)],
) -> EventsResult:
    """Accept run events (started, heartbeat, progress, finished, crashed, failed_to_start);
    each key once."""
    _check_hosts(principal, [event.host for event in body])
    async with service.engine.begin() as conn:
        if principal.scope == "host" and principal.host_name is not None:
            foreign = await foreign_runs(conn, body, principal.host_name)
            if foreign:
                raise HTTPException(
                    403, f"runs of another host may not be changed with this token: {foreign}"
                )
        duplicates = await apply_events(
            conn,
            body,
            service.alert_destinations,
            service.rules,
            timedelta(seconds=service.settings.ranks_settle_s),
            service.settings.announced,
        )
    if service.dispatcher is not None:
        service.dispatcher.notify()
    return EventsResult(accepted=len(body) - duplicates, duplicates=duplicates)


HOME_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>dlbot</title></head>
<body><h1>dlbot</h1><p>The central service of dlbot: GPU hosts report here, and chat commands
and alerts are answered from here.</p><ul><li><a href="/docs">/docs</a>: the HTTP API</li>
<li><a href="/metrics">/metrics</a>: Prometheus metrics</li>
<li><a href="/healthz">/healthz</a>: health, and which chat platforms are connected</li>
<li><a href="/status">/status</a>: the fleet and its runs (sign in with the page token)</li></ul>
</body></html>"""


async def home() -> HTMLResponse:
    """What this service is, for whoever opens its address in a browser."""
    return HTMLResponse(HOME_PAGE)


async def get_fleet(
    service: ServiceDep, _reader: Annotated[Principal, Depends(agent_principal)]
) -> dict[str, Any]:
    """Every host's latest state, users and command lines included: any valid token (a read
    token from `dlbot token create --read NAME` for dashboards)."""
    hosts = await service.fleet.hosts()
    return {
        "hosts": [
            {
                "name": h.name,
                "online": h.online,
                "last_seen_at": h.last_seen_at.isoformat(),
                "gpu_error": h.gpu_error,
                "gpus": [
                    {
                        "index": g.index,
                        "name": g.name,
                        "utilization_gpu": g.utilization_gpu,
                        "memory_used_mib": g.memory_used_mib,
                        "memory_total_mib": g.memory_total_mib,
                        "temperature_c": g.temperature_c,
                        "power_w": g.power_w,
                        "free": g.is_free,
                        "processes": [asdict(p) for p in g.processes],
                    }
                    for g in h.gpus
                ],
            }
            for h in hosts
        ]
    }


async def healthz(service: ServiceDep) -> dict[str, object]:
    """Liveness: 200 once the database answers, whatever the chat platforms are doing; which
    platforms can deliver now is shown beside it, and whether this replica leads (runs the
    periodic checks and Telegram polling)."""
    async with service.engine.connect() as conn:
        await conn.exec_driver_sql("SELECT 1")
    connected = service.platforms.connected()
    return {
        "status": "ok",
        "leader": service.leading,
        "platforms": {name: "connected" if up else "connecting" for name, up in connected.items()},
    }


async def metrics(
    request: Request,
    service: ServiceDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Response:
    """Open by default, as Prometheus expects; DLBOT_METRICS_TOKEN makes it need that bearer
    token. Gauges and counters only: user names only as owners of GPU memory, no command
    lines."""
    expected = service.settings.metrics_token
    if expected is not None and not (
        credentials is not None
        and hmac.compare_digest(
            credentials.credentials.encode(), expected.get_secret_value().encode()
        )
    ):
        raise HTTPException(401, "missing or wrong metrics token", headers=_BEARER)
    service.metrics.set_platforms(service.platforms.connected())
    gzipped = _accepts_gzip(request.headers.get("accept-encoding", ""))
    try:
        # The fleet's families come from a worker process (FleetScraper), compressed there.
        body = await service.scraper.scrape(generate_latest(service.metrics.registry), gzipped)
    except BrokenProcessPool:
        raise HTTPException(503, METRICS_WORKER_DIED, headers={"Retry-After": "1"}) from None
    except TimeoutError:
        # The service's own metrics (ingest's timings among them) say most while it is this busy.
        log.warning(METRICS_FLEET_LATE)
        service.metrics.fleet_late.inc()
        body = generate_latest(service.metrics.registry)
        if gzipped:
            body = gzip.compress(body, compresslevel=1)
    headers = {"Vary": "Accept-Encoding"} | ({"Content-Encoding": "gzip"} if gzipped else {})
    return Response(body, media_type=CONTENT_TYPE_LATEST, headers=headers)


def _accepts_gzip(accept_encoding: str) -> bool:
    """Whether an Accept-Encoding header takes gzip (Prometheus sends ``gzip``)."""
    for part in accept_encoding.split(","):
        coding, _, params = part.strip().partition(";")
        if coding.strip().lower() in ("gzip", "x-gzip"):
            q = params.strip().lower().removeprefix("q=")
            return not params.strip() or _quality(q) > 0
    return False


def _quality(value: str) -> float:
    try:
        return float(value)
    except ValueError:
        return 0.0


METRICS_WORKER_DIED = "the metrics worker process ended during this scrape; scrape again"
METRICS_FLEET_LATE = (
    "/metrics: the fleet's families were not ready in time (the host's CPUs are busy and their "
    "worker runs at a lower priority); this scrape has the service's own metrics only"
)
PLATFORM_NOT_RUNNING = "this chat platform is not configured on this service"


def _front_end_endpoint(name: str) -> Callable[[Request], Awaitable[Response]]:
    """A platform's HTTP endpoint (Slack HTTP mode, Telegram webhook), answered by its front
    end when it runs, else 404."""

    async def endpoint(request: Request) -> Response:
        platforms = (await _service(request)).platforms
        front_end = platforms.front_ends.get(name)
        if front_end is None:
            return Response(PLATFORM_NOT_RUNNING, status_code=404)
        if name not in platforms.senders:
            return Response(NOT_CONNECTED, status_code=503, headers={"Retry-After": "10"})
        return await front_end.handle_http(request)

    return endpoint


ROUTES: list[BaseRoute] = [
    # Reports take a plain Starlette route (no FastAPI dependency solving or response model:
    # the hot path); the APIRoute below it never matches and only documents the endpoint.
    Route("/api/v1/reports", post_reports, methods=["POST"]),
    APIRoute(
        "/api/v1/reports",
        post_reports,
        methods=["POST"],
        response_model=IngestResult,
        summary="Ingest host reports",
        openapi_extra=_REPORT_DOC,
    ),
    APIRoute(
        "/api/v1/events",
        post_events,
        methods=["POST"],
        response_model=EventsResult,
        summary="Ingest training-run events",
    ),
    APIRoute("/api/v1/fleet", get_fleet, methods=["GET"], summary="Latest state of every host"),
    APIRoute("/", home, methods=["GET"], include_in_schema=False, response_class=HTMLResponse),
    APIRoute("/healthz", healthz, methods=["GET"], summary="Liveness and database check"),
    APIRoute(
        "/metrics", metrics, methods=["GET"], summary="Prometheus metrics", response_class=Response
    ),
    *(
        Route(platform.http_path, _front_end_endpoint(platform.name), methods=["POST"])
        for platform in PLATFORMS
        if platform.http_path
    ),
    *PAGE_ROUTES,
]


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    """422 naming each bad field, without echoing the (possibly large) input back."""
    assert isinstance(exc, RequestValidationError)
    errors = [{"loc": e["loc"], "msg": e["msg"], "type": e["type"]} for e in exc.errors()]
    return JSONResponse({"detail": errors}, status_code=422)


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document, plus the report body's schemas (the route validates it itself)."""
    if app.openapi_schema is None:
        spec = get_openapi(title=app.title, version=app.version, routes=app.routes)
        body = REPORT_BODY.json_schema(ref_template="#/components/schemas/{model}")
        schemas = spec.setdefault("components", {}).setdefault("schemas", {})
        schemas.update(body.pop("$defs"))
        schemas["ReportBody"] = {"title": "ReportBody", **body}
        app.openapi_schema = spec
    return app.openapi_schema


def create_app(
    service: Service,
    manage_lifecycle: bool = True,
    after_start: Callable[[], None] | None = None,
) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if manage_lifecycle:
            await service.start()
        if after_start is not None:
            after_start()
        try:
            yield
        finally:
            if manage_lifecycle:
                await service.stop()

    app = FastAPI(title="dlbot", version="0.1.0", routes=ROUTES, lifespan=lifespan)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    app.state.service = service
    app.add_middleware(BodySizeLimit, max_bytes=service.settings.max_report_bytes)

    app.add_exception_handler(RequestValidationError, _validation_error)

    return app
