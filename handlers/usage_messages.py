"""What /usage and the daily digest say (and what stands for a chart where none can go).

The chart's own words (its title, axis labels and legend) stay English in every language: the
PNG is drawn with matplotlib's bundled DejaVu fonts, which have no Chinese glyphs, so Chinese
there would come out as empty boxes."""

from __future__ import annotations

from dlbot.handlers.i18n import N_, _, ngettext

USAGE_USAGE = N_("/usage [HOST | USER] [6h | 24h | 7d]")
USAGE_SUMMARY = N_(
    "/usage — the fleet's GPU use as a chart; /usage HOST — per GPU; /usage USER — a user's "
    "GPU-hours; add a window from 1h to 30d (default 24h)"
)
BAD_WINDOW = N_("Give a window from 1h to 30d, such as 6h, 24h or 7d (not {value!r}).")
TOO_MANY_ARGS = N_("Give at most one host or user and one window.")
UNKNOWN_NAME = N_("No host or user named {name!r}.")
UNKNOWN_NAME_CLOSE = N_("No host or user named {name!r}. Did you mean: {close}?")
NO_DATA = N_("No GPU use recorded for {target} in the last {window}, so there is nothing to draw.")
THE_FLEET = N_("the fleet")

FLEET_LINE = N_(
    "The fleet, last {window}: mean GPU utilisation {utilization} · {busy:,.1f} of "
    "{gpu_hours:,.1f} GPU-hours busy{top}."
)
TOP_USERS = N_(" · most GPU-hours: {users}")
USER_HOURS = N_("{user} {hours:,.1f} h")
HOST_LINE = N_(
    "{host}, last {window}: mean GPU utilisation {utilization} over {gpus}, "
    "{memory} GiB of GPU memory used on average."
)
USER_LINE = N_("{user}, last {window}: {hours:,.1f} GPU-hours, {idle:,.1f} of them held idle.")
NOT_MEASURED = N_("n/a")

CHART_ALT = N_("Chart: GPU utilisation and memory of {target}, last {window}")
USER_CHART_ALT = N_("Chart: GPUs held by {user}, last {window}")
# The chart's own text: English always (see the module's docstring), so not marked.
CHART_TITLE = "GPU use of {target}, last {window}"
USER_CHART_TITLE = "GPUs held by {user}, last {window}"
CHART_FLEET = "the fleet"
UTILIZATION_AXIS = "GPU utilisation (%)"
MEMORY_AXIS = "GPU memory used (GiB)"
HELD_AXIS = "GPUs held (mean)"
HELD = "held"
HELD_IDLE = "held but idle"
TIME_AXIS = "time (UTC)"
MORE_LINES = "+{count} more"


def gpu_count(n: int) -> str:
    return ngettext("{n} GPU", "{n} GPUs", n).format(n=n)


def image_elsewhere(alt: str) -> str:
    """What stands for a chart on a destination that takes no pictures."""
    return _("{alt} (sent as a picture in Slack and Telegram)").format(alt=alt)


def chart_saved(path: str) -> str:
    return _("Chart written to {path}").format(path=path)


CHART_NOT_SAVED = N_("The chart could not be written to {directory}: {why}")
CHART_NOT_POSTED_MEMBERSHIP = N_(
    "The chart could not be posted here (Slack answered {error}): "
    "invite the dlbot app to this channel, then ask again."
)
CHART_NOT_POSTED = N_("The chart could not be posted here ({error}); ask again in a while.")
UPLOAD_FAILED = N_("an upload failure")
NO_ANSWER = N_("no answer")
"""Why a chart was not posted, where Slack gave no error code of its own."""
CHART_FAILED = N_("The chart could not be drawn (incident {incident}); the numbers above stand.")

DIGEST_TITLE = N_("dlbot daily digest, {date}")
DIGEST_WINDOW = N_("The last 24 hours, to {until} {timezone}.")
DIGEST_FLEET = N_("Fleet: {busy:,.1f} of {gpu_hours:,.1f} GPU-hours busy, mean utilisation {util}.")
DIGEST_NO_USE = N_("No GPU use was recorded.")
DIGEST_USERS = N_("GPU-hours per user")
DIGEST_USER_COLUMNS = (N_("user"), N_("GPU-hours"), N_("held idle"))
DIGEST_FINISHED = N_("Finished runs ({count})")
DIGEST_CRASHED = N_("Crashed runs ({count})")
DIGEST_RUN = N_("{name} on {host} ")
DIGEST_NO_RUNS = N_("No run finished or crashed.")
DIGEST_OFFLINE = N_("Hosts offline at some point ({count}): ")
DIGEST_ALL_ONLINE = N_("Every host stayed online.")
DIGEST_MORE = N_("+{count} more")
DIGEST_CHART_ALT = N_("Chart: the fleet's GPU utilisation and memory, last 24h")
