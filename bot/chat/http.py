"""The chat platforms' HTTP endpoints, mounted into the service's FastAPI app."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from dlbot.bot.service import Service

NOT_ENABLED = "this front end is not running in a mode that takes HTTP requests"


def _service(request: Request) -> Service:
    service: Service = request.app.state.service
    return service


async def slack_events(request: Request) -> Response:
    """Slack HTTP mode: slash commands and events, signed with SLACK_SIGNING_SECRET."""
    slack = _service(request).chat.slack
    if slack is None or slack.socket_mode:
        return Response(NOT_ENABLED, status_code=404)
    return await slack.handle_http(request)


async def telegram_webhook(request: Request) -> Response:
    """Telegram webhook mode: updates carrying X-Telegram-Bot-Api-Secret-Token."""
    telegram = _service(request).chat.telegram
    if telegram is None or not telegram.webhook:
        return Response(NOT_ENABLED, status_code=404)
    return await telegram.handle_webhook(request)
