"""Text shared by every platform's renderer and by the platform start-up checks."""

from __future__ import annotations

from dlbot.handlers.i18n import _

CONFIG_INVALID = "The chat configuration in .env is not usable:"


def reply_cut(omitted: int) -> str:
    return _("… {n} more parts of this reply are not shown. Ask for less (e.g. one host).").format(
        n=omitted
    )


CONNECT_FAILED = "%s: could not connect (%s); trying again in %.0fs"
LEAD_FAILED = "%s: could not take up or hand over leader-only work (%s)"
CONNECTED = "%s: connected"
NOT_CONNECTED = "this chat platform is not connected yet; try again shortly"
