"""The detached sender `dlbot run` leaves behind: delivers the spool's run events, then exits.

It always ends; its exit status says how:

- 0: no run event is left to send (delivered, dropped, quarantined, or held back for the
  host's agent), or another sender already works on this spool;
- 3: the server refused the token for ``REFUSED_S`` (60 s) on end; the events stay in the
  spool for the host's agent, whose token may be good;
- 4: ``MAX_S`` (24 h) passed without getting them through (server unreachable, failing...);
- 5: the spool cannot be used (a SQLite lock held past the busy timeout, a full disk...);
- 2: usage error.

``DLBOT_SENDER_MAX_S`` and ``DLBOT_SENDER_REFUSED_S`` lower the limits (tests do).

One sender per spool at a time, by a lock file that is never waited for: a second sender exits
at once, and the one at work looks once more for events after letting go of the lock.
"""

from __future__ import annotations

import fcntl
import logging
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path

from dlbot.agent import config
from dlbot.agent.reporter import Backoff, Outcome, Problem, Reporter
from dlbot.agent.spool import BUSY_TIMEOUT_S, Spool, SpoolUnavailable

log = logging.getLogger("dlbot.agent")
MAX_S = 24 * 3600.0
REFUSED_S = 60.0
REQUEST_TIMEOUT_S = 10.0


class Exit(IntEnum):
    DONE = 0
    USAGE = 2
    TOKEN_REFUSED = 3
    TIMED_OUT = 4
    SPOOL_UNUSABLE = 5


@dataclass(frozen=True)
class Limits:
    max_s: float = MAX_S
    refused_s: float = REFUSED_S

    @classmethod
    def from_env(cls) -> Limits:
        return cls(
            max_s=_seconds("DLBOT_SENDER_MAX_S", MAX_S),
            refused_s=_seconds("DLBOT_SENDER_REFUSED_S", REFUSED_S),
        )


def _seconds(name: str, default: float) -> float:
    try:
        value = float(os.environ.get(name, default))
    except ValueError:
        return default
    return min(max(value, 0.0), default)


@contextmanager
def _sender_lock(spool_path: Path) -> Iterator[bool]:
    """Whether this process holds the spool's sender lock (never waits for it)."""
    with spool_path.with_name(spool_path.name + ".sender.lock").open("a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def deliver_until_empty(
    spool_path: Path, server_url: str, token: str, limits: Limits | None = None
) -> Exit:
    limits = limits or Limits()
    deadline = time.monotonic() + limits.max_s
    try:
        spool = Spool(spool_path, busy_timeout_s=min(BUSY_TIMEOUT_S, limits.max_s))
    except SpoolUnavailable as exc:
        log.error("%s; the run events stay where they are", exc)
        return Exit.SPOOL_UNUSABLE
    reporter = Reporter(spool, server_url, token, timeout=min(REQUEST_TIMEOUT_S, limits.max_s))
    try:
        while True:
            with _sender_lock(spool_path) as held:
                if not held:
                    log.info("another sender is delivering the run events in %s", spool_path)
                    return Exit.DONE
                done = _deliver(reporter, deadline, limits.refused_s)
            # Events spooled while letting go of the lock may have met a sender that gave up.
            if done is not Exit.DONE or not spool.peek("event", 1, 1):
                return _said(done, spool, limits)
    except (OSError, SpoolUnavailable) as exc:
        log.error("cannot use the spool %s (%s); the run events stay there", spool_path, exc)
        return Exit.SPOOL_UNUSABLE
    finally:
        reporter.close()
        spool.close()


def _deliver(reporter: Reporter, deadline: float, refused_s: float) -> Exit:
    backoff = Backoff(base=1.0, cap=30.0)
    refused_since: float | None = None
    while True:
        outcome = reporter.drain("event", deadline)
        now = time.monotonic()
        if outcome is not Outcome.RETRY:
            refused_since = None
            backoff.reset()
            if not reporter.spool.peek("event", 1, 1):
                return Exit.DONE
            if now >= deadline:
                return Exit.TIMED_OUT
            continue
        failure = reporter.last_failure("event")
        if failure is not None and failure.problem is Problem.TOKEN_REFUSED:
            refused_since = now if refused_since is None else refused_since
            if now - refused_since >= refused_s:
                return Exit.TOKEN_REFUSED
        if now >= deadline:
            return Exit.TIMED_OUT
        give_up_at = deadline if refused_since is None else min(deadline, refused_since + refused_s)
        time.sleep(min(reporter.retry_delay("event", backoff), give_up_at - now))


def _said(code: Exit, spool: Spool, limits: Limits) -> Exit:
    if code is Exit.DONE:
        held = spool.count("event")
        if held:
            log.info("%d run event(s) refused for now stay in %s for the agent", held, spool.path)
        else:
            log.info("no run event left to send in %s", spool.path)
    elif code is Exit.TOKEN_REFUSED:
        log.error(
            "the server refused the token for %g s; %d run event(s) stay in %s for the agent",
            limits.refused_s,
            spool.count("event"),
            spool.path,
        )
    else:
        log.error(
            "gave up after %g s; %d run event(s) stay in %s for the host's agent",
            limits.max_s,
            spool.count("event"),
            spool.path,
        )
    return code


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.INFO, format="dlbot sender: %(message)s")
    try:
        server = config.server_url(None)
        token = config.agent_token(None)
    except config.ConfigError as exc:
        print(exc, file=sys.stderr)
        return Exit.USAGE
    if len(argv) != 1 or not server or not token:
        print(
            "usage: DLBOT_SERVER_URL=... DLBOT_AGENT_TOKEN=... python -m dlbot.agent.sender SPOOL",
            file=sys.stderr,
        )
        return Exit.USAGE
    return deliver_until_empty(Path(argv[0]), server, token, Limits.from_env())


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
