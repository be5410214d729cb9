"""What /lang reads and writes through (the service implements it over the store)."""

from __future__ import annotations

from typing import Protocol

from dlbot.handlers.i18n import Language


class ChatLanguages(Protocol):
    async def language(self, platform: str, chat_id: str) -> Language | None:
        """The chat's own choice, or None when it follows DLBOT_LANGUAGE."""
        ...

    async def set_language(
        self, platform: str, chat_id: str, language: Language, by: str | None
    ) -> None: ...
