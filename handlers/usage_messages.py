"""What /usage and the daily digest say (and what stands for a chart where none can go)."""

from __future__ import annotations

USAGE_USAGE = "/usage [HOST | USER] [6h | 24h | 7d]"
USAGE_SUMMARY = (
    "/usage — the fleet's GPU use as a chart; /usage HOST — per GPU; /usage USER — a user's "
    "GPU-hours; add a window from 1h to 30d (default 24h)"
)
BAD_WINDOW = "Give a window from 1h to 30d, such as 6h, 24h or 7d (not {value!r})."
TOO_MANY_ARGS = "Give at most one host or user and one window."
UNKNOWN_NAME = "No host or user named {name!r}."
UNKNOWN_NAME_CLOSE = "No host or user named {name!r}. Did you mean: {close}?"
NO_DATA = "No GPU use recorded for {target} in the last {window}, so there is nothing to draw."
THE_FLEET = "the fleet"

FLEET_LINE = (
    "The fleet, last {window}: mean GPU utilisation {utilization} · {busy:,.1f} of "
    "{gpu_hours:,.1f} GPU-hours busy{top}."
)
TOP_USERS = " · most GPU-hours: {users}"
USER_HOURS = "{user} {hours:,.1f} h"
HOST_LINE = (
    "{host}, last {window}: mean GPU utilisation {utilization} over {gpus}, "
    "{memory} GiB of GPU memory used on average."
)
USER_LINE = "{user}, last {window}: {hours:,.1f} GPU-hours, {idle:,.1f} of them held idle."
NOT_MEASURED = "n/a"

CHART_ALT = "Chart: GPU utilisation and memory of {target}, last {window}"
USER_CHART_ALT = "Chart: GPUs held by {user}, last {window}"
CHART_TITLE = "GPU use of {target}, last {window}"
USER_CHART_TITLE = "GPUs held by {user}, last {window}"
UTILIZATION_AXIS = "GPU utilisation (%)"
MEMORY_AXIS = "GPU memory used (GiB)"
HELD_AXIS = "GPUs held (mean)"
HELD = "held"
HELD_IDLE = "held but idle"
TIME_AXIS = "time (UTC)"
MORE_LINES = "+{count} more"


def image_elsewhere(alt: str) -> str:
    """What stands for a chart on a destination that takes no pictures."""
    return f"{alt} (sent as a picture in Slack and Telegram)"


def chart_saved(path: str) -> str:
    return f"Chart written to {path}"


CHART_NOT_SAVED = "The chart could not be written to {directory}: {why}"
CHART_NOT_POSTED_MEMBERSHIP = (
    "The chart could not be posted here (Slack answered {error}): "
    "invite the dlbot app to this channel, then ask again."
)
CHART_NOT_POSTED = "The chart could not be posted here ({error}); ask again in a while."
CHART_FAILED = "The chart could not be drawn (incident {incident}); the numbers above stand."

DIGEST_TITLE = "dlbot daily digest, {date}"
DIGEST_WINDOW = "The last 24 hours, to {until} {timezone}."
DIGEST_FLEET = "Fleet: {busy:,.1f} of {gpu_hours:,.1f} GPU-hours busy, mean utilisation {util}."
DIGEST_NO_USE = "No GPU use was recorded."
DIGEST_USERS = "GPU-hours per user"
DIGEST_USER_COLUMNS = ("user", "GPU-hours", "held idle")
DIGEST_FINISHED = "Finished runs ({count})"
DIGEST_CRASHED = "Crashed runs ({count})"
DIGEST_RUN = "{name} on {host} "
DIGEST_NO_RUNS = "No run finished or crashed."
DIGEST_OFFLINE = "Hosts offline at some point ({count}): "
DIGEST_ALL_ONLINE = "Every host stayed online."
DIGEST_MORE = "+{count} more"
DIGEST_CHART_ALT = "Chart: the fleet's GPU utilisation and memory, last 24h"
