"""What /gpus wait says."""

from __future__ import annotations

WAIT_USAGE = "/gpus wait N [HOST] [--for 2h] · /gpus wait · /gpus wait cancel"
NEEDS_CHAT = "Waiting needs a chat to tell you in: ask in Slack or Telegram."
BAD_COUNT = "Give how many GPUs to wait for, 1 to {most}: /gpus wait 2"
TOO_MANY = "You already wait for GPUs {most} times in this chat; /gpus wait cancel stops them."
WAITING = (
    "I'll tell you here when {count} on {where} {are} free, until {until} UTC. "
    "/gpus wait lists your waits; /gpus wait cancel stops them."
)
FREE_NOW = "{count} {are} free right now on {host}:"
ANY_HOST = "one host"
NO_WAITS = "You are not waiting for GPUs in this chat."
WAITS_TITLE = "Your GPU waits here"
CANCELLED = "Stopped {count}."
GPUS_FREE_TITLE = "GPUs free on {host}"
GPUS_FREE = " {count} {are} free on {host} (you asked for {asked}). Start there with:"
WAIT_EXPIRED = " no {count} came free on {where} within {span}; stopped waiting."
