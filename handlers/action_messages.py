"""User-facing text of the buttons on alerts and of what pressing them answers."""

from __future__ import annotations

from dlbot.handlers.i18n import N_

MUTE_HOST_LABEL = N_("Mute this host 2h")
SHOW_TAIL_LABEL = N_("Show output tail")
CLAIM_LABEL = N_("That's mine")

UNKNOWN_BUTTON = N_("dlbot does not know this button (it may come from an older version).")
NOT_IN_THIS_CHAT = N_("dlbot sent no such alert to this chat.")
NOTHING_TO_ACT_ON = N_("This alert names no {what}, so this button has nothing to act on.")
HOST = N_("host")
RUN = N_("run")
OWNER = N_("Unix user")
RUN_GONE = N_("The run of this alert is no longer stored.")
NO_TAIL = N_("{run} left no output.")
TAIL_TITLE = N_("Output tail: {run} on {host}")

ALREADY_MUTED = N_("{who} already muted this host from this alert ({ago}).")
ALREADY_CLAIMED = N_("{who} already said this run is theirs ({ago}).")
ALREADY_SHOWN = N_("{who} already had the output tail shown here ({ago}).")
