"""What the status page says in words: titles, explanations, table headings and refusals, in
one place, marked for translation like the chat's text (``handlers/i18n.py``).

The page and the templates print these through ``_()`` (autoescaped), in the language of the
request (``page_language``); commands are separate so that they can be set in a monospace font.
"""

from __future__ import annotations

from dlbot.handlers.i18n import N_

FLEET_TITLE = N_("GPU fleet")
FLEET_SUMMARY = N_("{hosts} hosts, {online} online")
GPU_SUMMARY = N_("{gpus} GPUs on online hosts: {free} free, {busy} busy, {idle_held} idle-held")
HOSTS_SHOWN = N_("Hosts {first}-{last} of {hosts} by name, page {page} of {pages}")
PREVIOUS_PAGE = N_("← previous")
NEXT_PAGE = N_("next →")
BAD_PAGE_TITLE = N_("No such page")
BAD_PAGE = N_("The page number must be a whole number, as in {path}?page=2.")
NO_HOSTS = N_("No host has reported yet.")
ADD_A_HOST = N_("To add one, create a token on the service, then start the agent on the GPU host:")
ADD_A_HOST_TOKEN = "dlbot token create HOST"
ADD_A_HOST_AGENT = "dlbot agent --server {server} --token TOKEN"
IDLE_HELD_LEGEND = N_(
    "idle-held: holding at least {memory} MiB with utilisation at most {utilization}% now; "
    "the gpu_idle alert fires after {minutes:g} minutes of it. Offline hosts show their last "
    "report and are not counted."
)
HOST_COLUMNS = (
    N_("host"),
    N_("GPUs"),
    N_("free"),
    N_("busy"),
    N_("idle-held"),
    N_("util."),
    N_("memory"),
    N_("users"),
    N_("last report"),
)
OFFLINE = N_("offline")
ACTIVE_RUNS = N_("Active runs")
RECENT_RUNS = N_("Recently ended runs")
NO_ACTIVE_RUNS = N_("No training run is active.")
MORE_ACTIVE_RUNS = N_("+{count} more active runs, not shown.")
NO_RECENT_RUNS = N_("No run has ended yet.")
NO_RUNS = N_("No training runs yet. Wrap a training command with:")
NO_RUNS_COMMAND = "dlbot run -- python train.py"
RUN_COLUMNS = (
    N_("run"),
    N_("id"),
    N_("host"),
    N_("user"),
    N_("state"),
    N_("progress"),
    N_("when"),
)
STALLED = N_("stalled")
RUN_STARTED = N_("started {ago}")
RUN_ENDED = N_("ended {ago}")
PROGRESS_ETA = N_("{percent:.0f}%, ETA {eta}")

SEEN_ONLINE = N_("online, last report {ago} ({moment:%Y-%m-%d %H:%M} UTC)")
SEEN_OFFLINE = N_("offline, last report {ago} ({moment:%Y-%m-%d %H:%M} UTC)")
HOST_CPU = N_("CPU {percent:.0f}%")
HOST_LOAD = N_("load {load:.2f}")
HOST_RAM = N_("RAM {used:.0f} / {total:.0f} GiB")
HOST_GPUS = N_("{gpus} GPUs: {free} free, {busy} busy, {idle_held} idle-held")
NO_HOST_METRICS = N_("no host metrics")
GPUS_TITLE = N_("GPUs and processes")
GPU_COLUMNS = (
    N_("model"),
    N_("state"),
    N_("util."),
    N_("memory"),
    N_("temp."),
    N_("power"),
    N_("processes"),
)
GPU_LABELS = {
    "model": N_("model"),
    "state": N_("state"),
    "utilization": N_("utilisation"),
    "memory": N_("memory"),
    "temperature": N_("temperature"),
    "power": N_("power"),
}
"""The phone layout's labels of a GPU's cells (the table's headings are hidden there)."""
GPU_STATES = {
    "free": N_("free"),
    "busy": N_("busy"),
    "idle-held": N_("idle-held"),
    "error": N_("error"),
}
NOT_AVAILABLE = N_("n/a")
NO_GPUS = N_("This host reported no GPU.")
USAGE_TITLE = N_("Usage, last {hours:g} hours")
CHART_ALT = N_("GPU utilisation and memory of {host} over the last {hours:g} hours")
NO_HISTORY_TITLE = N_("No history")
NO_HISTORY = N_("{host} reported no GPU samples in the last {hours:g} hours.")
HOST_GPU_ERROR = N_("The agent could not read this host's GPUs: {error}")
BACK_TO_FLEET = N_("All hosts")
SIGN_OUT = N_("Sign out")

LOGIN_HOW = N_(
    "Open this address once, with the page token (DLBOT_PAGE_TOKEN on the service; ask whoever "
    "runs dlbot); a cookie then keeps this browser signed in for 30 days:"
)
LOGIN_ADDRESS = "{server}/login?token=TOKEN"
LOGIN_HOW_PROXY = N_("Through your organisation's signing-in proxy, this page needs no token.")
NOT_SIGNED_IN_TITLE = N_("Not signed in")
LOGIN_MISSING_TITLE = N_("The page token is missing")
WRONG_TOKEN_TITLE = N_("Wrong token")
WRONG_TOKEN = N_("That is not the page token: you are not signed in, and nothing was changed.")
LOGIN_OFF_TITLE = N_("Token sign-in is off")
LOGIN_OFF = N_("This service has no DLBOT_PAGE_TOKEN, so it takes no token sign-in.")
PAGE_OFF_TITLE = N_("The status page is off")
PAGE_OFF = N_(
    "To turn it on, set DLBOT_PAGE_TOKEN to a long random string (openssl rand -hex 32), or "
    "DLBOT_PAGE_PROXY_HEADER behind a signing-in proxy, and restart dlbot."
)
NO_SUCH_HOST_TITLE = N_("No such host")
NO_SUCH_HOST = N_("No host named {host!r} has reported.")
SIGNED_OUT_TITLE = N_("Signed out")
SIGNED_OUT = N_("This browser no longer sees the status page.")
