"""The detached sender `dlbot run` leaves behind: delivers the spool's run events, retrying
with capped backoff (at most 30 s between tries) until the server confirms, then exits.

One sender per spool at a time (a lock file); a second one waits for the lock and then
delivers whatever is left.
"""

from __future__ import annotations

import fcntl
import sys
import time
from pathlib import Path

from dlbot.agent import config
from dlbot.agent.reporter import Backoff, Outcome, Reporter
from dlbot.agent.spool import Spool


def deliver_until_empty(spool_path: Path, server_url: str, token: str) -> None:
    lock_path = spool_path.with_name(spool_path.name + ".sender.lock")
    with lock_path.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        spool = Spool(spool_path)
        reporter = Reporter(spool, server_url, token, timeout=10)
        backoff = Backoff(base=1.0, cap=30.0)
        try:
            while reporter.drain("event") is Outcome.RETRY:
                time.sleep(backoff.next_delay())
        finally:
            reporter.close()
            spool.close()


def main(argv: list[str]) -> int:
    server = config.server_url(None)
    token = config.agent_token(None)
    if len(argv) != 1 or not server or not token:
        print(
            "usage: DLBOT_SERVER_URL=... DLBOT_AGENT_TOKEN=... python -m agent.sender SPOOL",
            file=sys.stderr,
        )
        return 2
    deliver_until_empty(Path(argv[0]), server, token)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
