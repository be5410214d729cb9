"""No secret in any log line, at any level: every log record is redacted as it is created.

The chat SDKs and HTTP clients log URLs and errors that carry tokens (Telegram's bot token is
part of every API URL; a refused token is quoted in PTB's error). Raising those loggers'
levels is not enough (``DLBOT_LOG_LEVEL=DEBUG``, a test's capture), so the service registers
its secrets here and a log-record factory replaces them, in the message and in the formatted
traceback, before any handler sees the record.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable
from typing import Any

from pydantic import SecretStr
from sqlalchemy.engine import make_url

from dlbot.bot.settings import Settings

MASK = "***"
MIN_SECRET_CHARS = 6  # shorter values would mask ordinary words
SECRET_NAMES = ("token", "secret", "webhook_url")

_secrets: set[str] = set()
_pattern: re.Pattern[str] | None = None
_lock = threading.Lock()
_formatter = logging.Formatter()
_original_factory = logging.getLogRecordFactory()


def redact(text: str) -> str:
    return _pattern.sub(MASK, text) if _pattern is not None else text


def _redacting_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
    record = _original_factory(*args, **kwargs)
    if _pattern is None:
        return record
    message = record.getMessage()
    clean = redact(message)
    if clean != message:
        record.msg, record.args = clean, ()
    if record.exc_info:
        record.exc_text = redact(_formatter.formatException(record.exc_info))
    return record


def settings_secrets(settings: Settings) -> list[str]:
    """Every token, secret and webhook URL in the settings, the database password, and the
    part of a Telegram bot token after its colon (what its URLs and errors show)."""
    found = []
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        if isinstance(value, str) and any(part in name for part in SECRET_NAMES):
            found.append(value)
    if settings.telegram_bot_token and ":" in settings.telegram_bot_token:
        found.append(settings.telegram_bot_token.split(":", 1)[1])
    if settings.database_url:
        password = make_url(settings.database_url).password
        if password:
            found.append(str(password))
    return found


def register(secrets: Iterable[str]) -> None:
    """Mask these values in every log record from now on."""
    global _pattern
    with _lock:
        _secrets.update(s for s in secrets if len(s) >= MIN_SECRET_CHARS)
        if _secrets:
            # Longest first, so a secret that contains another is masked whole.
            ordered = sorted(_secrets, key=len, reverse=True)
            _pattern = re.compile("|".join(map(re.escape, ordered)))
        if logging.getLogRecordFactory() is not _redacting_factory:
            logging.setLogRecordFactory(_redacting_factory)
