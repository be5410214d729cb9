"""User-facing text of /runs, /run, /link and /mute."""

from __future__ import annotations

from dlbot.handlers.i18n import N_, _

RUNS_USAGE = N_("/runs [HOST | mine]")
RUNS_SUMMARY = N_("Active training runs with progress and ETA, then recently ended ones")
RUN_USAGE = N_("/run ID")
RUN_SUMMARY = N_("One run in detail (by id, or the newest run of a name), with its output tail")
LINK_USAGE = N_("/link UNIXUSER")
LINK_SUMMARY = N_("Tell dlbot your Unix user name, so alerts about your runs mention you")
MUTE_USAGE = N_("/mute RUN|HOST [30m|2h|1d|off]")
MUTE_SUMMARY = N_("Silence alerts about a run or a host for a while (default 1h)")

RUNS_TOO_MANY = N_("Give one host name, or `mine`.")
RUN_DETAIL_HINT = N_("Details and output: /run ID")
LINK_FIRST = N_("dlbot does not know your Unix user yet: send /link UNIXUSER first.")
RUN_NEEDS_ID = N_("Give the run's id (the first characters are enough) or its name.")
NO_SUCH_RUN = N_("No run with id or name {id!r}. /runs lists them.")
AMBIGUOUS_RUN = N_("Several runs start with {id!r}: {ids}. Give more characters.")
LINK_IN_CHAT = N_("Send /link from the chat, so dlbot knows who to mention there.")
LINK_USAGE_PROBLEM = N_("Give your Unix user name (admins: a Unix user and a chat user id).")
LINKED = N_("Linked: alerts about runs of {user} will mention you here.")
BAD_DURATION = N_(
    "Cannot read {value!r} as a duration: use e.g. 30m, 2h or 1d (at most {longest}d)."
)
MUTE_NEEDS_TARGET = N_("Give a run id or a host name, and optionally a duration or off.")
UNKNOWN_MUTE_TARGET = N_("{target!r} is neither a host nor a single run.")
MUTED = N_("Alerts about {target} are muted until {until:%Y-%m-%d %H:%M} UTC.")
UNMUTED = N_("Alerts about {target} are on again.")
NOT_MUTED = N_("{target} was not muted.")

ACTIVE = N_("Active ({n}):")
RECENTLY_ENDED = N_("Recently ended:")
ACTIVE_COLUMNS = (
    N_("run"),
    N_("id"),
    N_("host"),
    N_("user"),
    N_("progress"),
    N_("ETA"),
    N_("latest"),
)
ENDED_COLUMNS = (N_("run"), N_("id"), N_("host"), N_("user"), N_("result"), N_("ended"))
MORE_ACTIVE = N_("+{n} more active runs")
STALLED = N_(" (stalled)")
STARTED_AGO = N_("started {ago}")
FINISHED = N_("finished")
ENDED_UNKNOWN = N_("ended, status unknown")
FAILED_TO_START = N_("failed to start")
CRASHED_BY_SIGNAL = N_("crashed ({signal}{ranks})")
CRASHED_WITH_CODE = N_("crashed (exit {code}{ranks})")
RANKS_SHORT = N_("; rank {rank} first, {failed}/{world} failed")
JOB = N_("job {job} · {world} ranks")
FIRST_FAILURE = N_("first failure: rank {rank} on {host} · {failed} of {world} ranks failed")
STATES = {
    "running": N_("running"),
    "finished": N_("finished"),
    "crashed": N_("crashed"),
    "ended_unknown": N_("ended, status unknown"),
    "failed_to_start": N_("failed to start"),
}
FACTS = N_("{status} · host {host} · user {user} · started {started:%Y-%m-%d %H:%M} UTC")
DURATION = N_("duration {duration}")
GPUS = N_("GPUs {gpus}")
PEAK_MEMORY = N_("peak GPU memory {mib} MiB")
PROGRESS = N_("progress {percent:.0f}%")
PROGRESS_ETA = N_("progress {percent:.0f}%, ETA {eta}")
COMMAND = N_("command: ")
GIT_COMMIT = N_("git commit: ")
METRICS = N_("metrics: ")
EXCEPTION = N_("exception: ")


def runs_title(host: str | None, user: str | None) -> str:
    if host:
        return _("Training runs on {host}").format(host=host)
    if user:
        return _("Training runs of {user}").format(user=user)
    return _("Training runs")


def no_runs(host: str | None, user: str | None) -> str:
    if host:
        text = _("No training runs on {host} yet.").format(host=host)
    elif user:
        text = _("No training runs of {user} yet.").format(user=user)
    else:
        text = _("No training runs yet.")
    return text + _(" Wrap a command with `dlbot run -- python train.py`.")
