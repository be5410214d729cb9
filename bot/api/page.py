"""The read-only status page: the fleet, one host with its usage chart, and the runs.

Server-rendered HTML (Jinja2, autoescaped: host, process and run names and exception lines come
from the hosts) with one stylesheet and no script; the Content-Security-Policy allows none.
Access: see ``page_access``. Every page speaks the language ``page_language`` picks for the
request (its text is in ``page_messages``). The routes are listed in ``PAGE_ROUTES`` at the bottom.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from functools import wraps
from importlib.resources import files
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.templating import Jinja2Templates

from dlbot.bot.api import page_messages as text
from dlbot.bot.api.page_access import (
    COOKIE,
    COOKIE_MAX_AGE_S,
    COOKIE_PATH,
    Access,
    page_access,
    session_value,
    token_matches,
)
from dlbot.bot.api.page_language import HTML_LANG, page_language
from dlbot.bot.api.page_view import (
    IdleHeld,
    fleet_totals,
    gpu_row,
    host_metrics,
    host_row,
    pager,
    run_row,
    seen,
)
from dlbot.bot.service import Service
from dlbot.bot.settings import Settings
from dlbot.bot.store.usage import Window, last
from dlbot.handlers.i18n import _, current, using
from dlbot.handlers.run_views import RunView
from dlbot.wire import utc_now

log = logging.getLogger("dlbot.status_page")

FLEET_PATH = "/status"
HOSTS_PER_PAGE = 100
MAX_ACTIVE_RUNS = 100
MAX_RECENT_RUNS = 20
MAX_RECENT_HOST_RUNS = 10
REFRESH_S = 60
CHART_HOURS = 24
CHART_LABEL = "24h"
HEADERS = {
    # No script at all, styles and images only from here, no framing, forms post only here.
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        "base-uri 'none'; frame-ancestors 'none'"
    ),
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}

TEMPLATES = Jinja2Templates(
    env=Environment(
        loader=PackageLoader("dlbot.bot.api", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
)
TEMPLATES.env.globals["text"] = text
TEMPLATES.env.globals["_"] = _
STYLESHEET = files("dlbot.bot.api").joinpath("static/page.css").read_bytes()


def _service(request: Request) -> Service:
    service: Service = request.app.state.service
    return service


def _server(request: Request) -> str:
    """The address this browser used, for the commands and links the page shows."""
    return str(request.base_url).rstrip("/")


Endpoint = Callable[[Request], Awaitable[Response]]


def _in_page_language(endpoint: Endpoint) -> Endpoint:
    """Run ``endpoint`` in the request's language (``page_language``), and say which."""

    @wraps(endpoint)
    async def localized(request: Request) -> Response:
        accept_language = request.headers.get("accept-language")
        language = page_language(accept_language, _service(request).settings.language)
        with using(language):
            response = await endpoint(request)
        response.headers["Content-Language"] = HTML_LANG[language]
        response.headers["Vary"] = "Accept-Language"
        return response

    return localized


def _render(request: Request, name: str, status: int = 200, **context: Any) -> Response:
    context.setdefault("lang", HTML_LANG[current()])
    context.setdefault("refresh_s", None)
    context.setdefault("signed_in", False)
    return TEMPLATES.TemplateResponse(request, name, context, status_code=status, headers=HEADERS)


def _message(
    request: Request, status: int, title: str, *lines: str, login_help: bool = False
) -> Response:
    """A page of a title and lines, already in the request's language."""
    settings = _service(request).settings
    return _render(
        request,
        "message.html",
        status,
        title=title,
        lines=lines,
        login_help=login_help and settings.page_token is not None,
        proxy_help=login_help and settings.page_proxy_header is not None,
        login_address=text.LOGIN_ADDRESS.format(server=_server(request)),
    )


def _refusal(request: Request) -> Response | None:
    """The answer for a request that may not see the page, or None when it may."""
    access = page_access(request, _service(request).settings)
    if access is Access.OFF:
        return _message(request, 404, _(text.PAGE_OFF_TITLE), _(text.PAGE_OFF))
    if access is Access.NOT_SIGNED_IN:
        return _message(request, 401, _(text.NOT_SIGNED_IN_TITLE), login_help=True)
    return None


def _no_such_host(request: Request, name: str) -> Response:
    no_such_host = _(text.NO_SUCH_HOST).format(host=name)
    return _message(request, 404, _(text.NO_SUCH_HOST_TITLE), no_such_host)


def _chart_window(now: datetime) -> Window:
    return last(timedelta(hours=CHART_HOURS), now)


def _idle_held(settings: Settings) -> IdleHeld:
    return IdleHeld(settings.idle_min_memory_mib, settings.idle_max_utilization)


async def _runs(
    service: Service, host: str | None, limit: int
) -> tuple[Sequence[RunView], Sequence[RunView]]:
    if service.runs is None:
        return [], []
    return await service.runs.active(host, None), await service.runs.recent(host, None, limit)


def _runs_context(
    active: Sequence[RunView], recent: Sequence[RunView], now: datetime
) -> dict[str, Any]:
    return {
        "active": [run_row(r, now) for r in active[:MAX_ACTIVE_RUNS]],
        "more_active": max(0, len(active) - MAX_ACTIVE_RUNS),
        "recent": [run_row(r, now) for r in recent],
    }


async def fleet_page(request: Request) -> Response:
    if (refused := _refusal(request)) is not None:
        return refused
    service = _service(request)
    settings = service.settings
    counts = await service.fleet.counts(settings.idle_min_memory_mib, settings.idle_max_utilization)
    pages = pager(request.query_params.get("page"), counts.hosts, HOSTS_PER_PAGE)
    if pages is None:
        bad_page = _(text.BAD_PAGE).format(path=FLEET_PATH)
        return _message(request, 400, _(text.BAD_PAGE_TITLE), bad_page)
    now, idle = utc_now(), _idle_held(settings)
    hosts = await service.fleet.hosts_page(pages.offset, pages.per_page)
    active, recent = await _runs(service, None, MAX_RECENT_RUNS)
    return _render(
        request,
        "fleet.html",
        title=_(text.FLEET_TITLE),
        refresh_s=REFRESH_S,
        signed_in=True,
        hosts=[host_row(host, idle, now) for host in hosts],
        totals=fleet_totals(counts),
        pager=pages,
        legend=_(text.IDLE_HELD_LEGEND).format(
            memory=settings.idle_min_memory_mib,
            utilization=settings.idle_max_utilization,
            minutes=settings.idle_minutes,
        ),
        agent_command=text.ADD_A_HOST_AGENT.format(server=_server(request)),
        **_runs_context(active, recent, now),
    )


async def host_page(request: Request) -> Response:
    if (refused := _refusal(request)) is not None:
        return refused
    service, name = _service(request), request.path_params["name"]
    host = await service.fleet.host(name)
    if host is None:
        return _no_such_host(request, name)
    now, idle = utc_now(), _idle_held(service.settings)
    history = await service.usage.store.host(name, _chart_window(now))
    active, recent = await _runs(service, name, MAX_RECENT_HOST_RUNS)
    return _render(
        request,
        "host.html",
        title=host.name,
        refresh_s=REFRESH_S,
        signed_in=True,
        host=host,
        row=host_row(host, idle, now),
        seen=seen(host, now),
        metrics=host_metrics(host),
        gpus=[gpu_row(g, idle) for g in host.gpus],
        chart_hours=CHART_HOURS,
        has_chart=history is not None and not history.empty,
        chart_alt=_(text.CHART_ALT).format(host=host.name, hours=CHART_HOURS),
        no_history=_(text.NO_HISTORY).format(host=host.name, hours=CHART_HOURS),
        **_runs_context(active, recent, now),
    )


async def usage_chart(request: Request) -> Response:
    if (refused := _refusal(request)) is not None:
        return refused
    service, name = _service(request), request.path_params["name"]
    window = _chart_window(utc_now())
    # The /usage chart of the host, drawn off the event loop by bot/charts.
    chart = await service.usage.host(name, window.since, window.until, CHART_LABEL)
    if chart is None:
        return _no_such_host(request, name)
    if chart.png is None:
        no_history = _(text.NO_HISTORY).format(host=name, hours=CHART_HOURS)
        return _message(request, 404, _(text.NO_HISTORY_TITLE), no_history)
    return Response(chart.png, media_type="image/png", headers=HEADERS)


async def login(request: Request) -> Response:
    """``/login?token=...``: the right token sets the session cookie and sends the browser on
    to the page, without the token in its address bar or history."""
    token = _service(request).settings.page_token
    if token is None:
        return _message(request, 404, _(text.LOGIN_OFF_TITLE), _(text.LOGIN_OFF))
    given = request.query_params.get("token", "")
    if not given:
        return _message(request, 400, _(text.LOGIN_MISSING_TITLE), login_help=True)
    client = request.client.host if request.client else "?"
    if not token_matches(given, token):
        log.info("status page: refused a wrong page token from %s; no cookie set", client)
        wrong = _(text.WRONG_TOKEN)
        return _message(request, 403, _(text.WRONG_TOKEN_TITLE), wrong, login_help=True)
    log.info("status page: signed in a browser from %s", client)
    response = RedirectResponse(FLEET_PATH, status_code=303, headers=HEADERS)
    response.set_cookie(
        COOKIE,
        session_value(token),
        max_age=COOKIE_MAX_AGE_S,
        path=COOKIE_PATH,
        secure=request.url.scheme == "https",
        httponly=True,
        samesite="lax",
    )
    return response


async def logout(request: Request) -> Response:
    response = _message(request, 200, _(text.SIGNED_OUT_TITLE), _(text.SIGNED_OUT))
    response.delete_cookie(
        COOKIE,
        path=COOKIE_PATH,
        secure=request.url.scheme == "https",
        httponly=True,
        samesite="lax",
    )
    return response


async def stylesheet(_request: Request) -> Response:
    return Response(STYLESHEET, media_type="text/css", headers={"Cache-Control": "max-age=3600"})


PAGE_ROUTES: list[BaseRoute] = [
    Route(FLEET_PATH, _in_page_language(fleet_page), methods=["GET"]),
    Route(f"{FLEET_PATH}/hosts/{{name}}", _in_page_language(host_page), methods=["GET"]),
    Route(
        f"{FLEET_PATH}/hosts/{{name}}/usage.png", _in_page_language(usage_chart), methods=["GET"]
    ),
    Route(f"{FLEET_PATH}/page.css", stylesheet, methods=["GET"]),
    Route(f"{FLEET_PATH}/logout", _in_page_language(logout), methods=["POST"]),
    Route("/login", _in_page_language(login), methods=["GET"]),
]
