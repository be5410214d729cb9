"""User-facing text of the buttons on alerts and of what pressing them answers."""

from __future__ import annotations

MUTE_HOST_LABEL = "Mute this host 2h"
SHOW_TAIL_LABEL = "Show output tail"
CLAIM_LABEL = "That's mine"

UNKNOWN_BUTTON = "dlbot does not know this button (it may come from an older version)."
NOT_IN_THIS_CHAT = "dlbot sent no such alert to this chat."
NOTHING_TO_ACT_ON = "This alert names no {what}, so this button has nothing to act on."
HOST = "host"
RUN = "run"
OWNER = "Unix user"
RUN_GONE = "The run of this alert is no longer stored."
NO_TAIL = "{run} left no output."
TAIL_TITLE = "Output tail: {run} on {host}"

ALREADY_MUTED = "{who} already muted this host from this alert ({ago})."
ALREADY_CLAIMED = "{who} already said this run is theirs ({ago})."
ALREADY_SHOWN = "{who} already had the output tail shown here ({ago})."
