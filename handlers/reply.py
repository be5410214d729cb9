"""The neutral Reply model that every command returns and every front end renders.

Text in a Reply is plain: renderers escape it for their platform, so a host or process name
can never inject markup or mentions. An ``Image`` (a chart) is uploaded where the platform
takes pictures (Slack, Telegram), written to a file by `dlbot ask`, and stands as its
``alt`` text everywhere else.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from dlbot.handlers.i18n import Language, current

Visibility = Literal["channel", "private"]


@dataclass(frozen=True)
class Text:
    text: str


@dataclass(frozen=True)
class Bold:
    text: str


@dataclass(frozen=True)
class Mono:
    text: str


@dataclass(frozen=True)
class Link:
    text: str
    url: str


@dataclass(frozen=True)
class Mention:
    """A chat user to notify; ``text`` is shown where the platform cannot mention."""

    text: str
    user_id: str


Span = Text | Bold | Mono | Link | Mention


@dataclass(frozen=True)
class Heading:
    text: str


@dataclass(frozen=True)
class Paragraph:
    spans: tuple[Span, ...]


@dataclass(frozen=True)
class Table:
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class Code:
    text: str


@dataclass(frozen=True)
class Image:
    """A PNG picture, its file name, and the text that stands for it where it cannot go."""

    png: bytes = field(repr=False)
    filename: str
    alt: str


Block = Heading | Paragraph | Table | Code | Image


@dataclass(frozen=True)
class Button:
    """An action a chat user can take on a message: ``action`` names it
    (``handlers.actions``), ``value`` says what it acts on (an alert id)."""

    label: str
    action: str
    value: str


@dataclass(frozen=True)
class Reply:
    blocks: tuple[Block, ...]
    visibility: Visibility = "channel"
    ok: bool = True
    attachments: tuple[str, ...] = field(default=())
    actions: tuple[Button, ...] = field(default=())
    """Buttons under the message, where the platform has them; other destinations leave them
    out."""
    language: Language = field(default_factory=current)
    """What it was written in: renderers add their own words (a cut reply's end) in it."""


def images(reply: Reply) -> tuple[Image, ...]:
    return tuple(block for block in reply.blocks if isinstance(block, Image))


def para(*parts: str | Span) -> Paragraph:
    """A paragraph; bare strings are plain text."""
    return Paragraph(tuple(Text(p) if isinstance(p, str) else p for p in parts))


def error_reply(*parts: str | Span) -> Reply:
    return Reply(blocks=(para(*parts),), visibility="private", ok=False)
