"""What the status page says in words: titles, explanations and refusals, in one place.

The templates print these as text (autoescaped); commands are separate so that they can be set
in a monospace font.
"""

from __future__ import annotations

FLEET_TITLE = "GPU fleet"
FLEET_SUMMARY = "{hosts} hosts, {online} online"
GPU_SUMMARY = "{gpus} GPUs on online hosts: {free} free, {busy} busy, {idle_held} idle-held"
HOSTS_SHOWN = "Hosts {first}-{last} of {hosts} by name, page {page} of {pages}"
PREVIOUS_PAGE = "← previous"
NEXT_PAGE = "next →"
BAD_PAGE_TITLE = "No such page"
BAD_PAGE = "The page number must be a whole number, as in {path}?page=2."
NO_HOSTS = "No host has reported yet."
ADD_A_HOST = "To add one, create a token on the service, then start the agent on the GPU host:"
ADD_A_HOST_TOKEN = "dlbot token create HOST"
ADD_A_HOST_AGENT = "dlbot agent --server {server} --token TOKEN"
IDLE_HELD_LEGEND = (
    "idle-held: holding at least {memory} MiB at no more than {utilization}% utilisation now; "
    "the gpu_idle alert fires after {minutes:g} minutes of it. Offline hosts show their last "
    "report and are not counted."
)
ACTIVE_RUNS = "Active runs"
RECENT_RUNS = "Recently ended runs"
NO_ACTIVE_RUNS = "No training run is active."
MORE_ACTIVE_RUNS = "+{count} more active runs, not shown."
NO_RECENT_RUNS = "No run has ended yet."
NO_RUNS = "No training runs yet. Wrap a training command with:"
NO_RUNS_COMMAND = "dlbot run -- python train.py"
GPUS_TITLE = "GPUs"
NO_GPUS = "This host reported no GPU."
USAGE_TITLE = "Usage, last {hours:g} hours"
CHART_ALT = "GPU utilisation and memory of {host} over the last {hours:g} hours"
NO_HISTORY_TITLE = "No history"
NO_HISTORY = "{host} reported no GPU samples in the last {hours:g} hours."
HOST_GPU_ERROR = "The agent could not read this host's GPUs: {error}"
NO_HOST_METRICS = "no host metrics"
BACK_TO_FLEET = "All hosts"
SIGN_OUT = "Sign out"

LOGIN_HOW = (
    "Open this address once, with the page token (DLBOT_PAGE_TOKEN on the service; ask whoever "
    "runs dlbot); a cookie then keeps this browser signed in for 30 days:"
)
LOGIN_ADDRESS = "{server}/login?token=TOKEN"
LOGIN_HOW_PROXY = "Through your organisation's signing-in proxy, this page needs no token."
NOT_SIGNED_IN_TITLE = "Not signed in"
LOGIN_MISSING_TITLE = "The page token is missing"
WRONG_TOKEN_TITLE = "Wrong token"
WRONG_TOKEN = "That is not the page token: you are not signed in, and nothing was changed."
LOGIN_OFF_TITLE = "Token sign-in is off"
LOGIN_OFF = "This service has no DLBOT_PAGE_TOKEN, so it takes no token sign-in."
PAGE_OFF_TITLE = "The status page is off"
PAGE_OFF = (
    "To turn it on, set DLBOT_PAGE_TOKEN to a long random string (openssl rand -hex 32), or "
    "DLBOT_PAGE_PROXY_HEADER behind a signing-in proxy, and restart dlbot."
)
NO_SUCH_HOST_TITLE = "No such host"
NO_SUCH_HOST = "No host named {host!r} has reported."
SIGNED_OUT_TITLE = "Signed out"
SIGNED_OUT = "This browser no longer sees the status page."
