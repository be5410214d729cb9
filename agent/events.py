"""Run events on the wire, and the reporter that spools them and delivers them in the background.

Every event carries an idempotency key that the server stores once, so a retried or
twice-drained event is harmless: ``run_id:kind:n`` for a process on its own, and
``run_id:rank:nonce:kind:n`` for a rank of a distributed job, whose run id every rank shares
(``agent.job``) and which a later job may share too.

Reporting never stops the training: a spool that cannot be opened or written, or a setting that
cannot work, is said once on stderr and the run goes on unreported.
"""

from __future__ import annotations

import getpass
import logging
import os
import secrets
import socket
import subprocess
import sys
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dlbot.agent import config
from dlbot.agent import run_messages as text
from dlbot.agent.job import Job, current_job, current_rank
from dlbot.agent.metrics import text as one_line
from dlbot.agent.reporter import Backoff, Outcome, Reporter
from dlbot.agent.spool import Spool
from dlbot.wire import EventKind, RunSource, format_time, utc_now

log = logging.getLogger("dlbot.run")
DELIVERY_LOGGER = "dlbot.agent"
DELIVERY_GRACE_S = 1.0
_said: set[str] = set()


def say_once(line: str) -> None:
    """Print a line on stderr once per process (a loop of ``watch`` blocks says it once)."""
    if line not in _said:
        _said.add(line)
        print(line, file=sys.stderr)


def visible_gpus() -> list[int] | None:
    value = os.environ.get("CUDA_VISIBLE_DEVICES")
    if value is None:
        return None
    parts = [p.strip() for p in value.split(",") if p.strip()]
    return [int(p) for p in parts if p.isdigit()]


def unix_user() -> str | None:
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # a container user without a passwd entry
        return None


def git_commit(cwd: str) -> str | None:
    try:
        result = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=2,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    commit = result.stdout.strip()
    return commit if result.returncode == 0 and len(commit) == 40 else None


class _DeliveryNotes(logging.Handler):
    """The last problem the delivery thread's reporter logged (its first clause): why events
    are still waiting."""

    def __init__(self, thread: threading.Thread) -> None:
        super().__init__(logging.WARNING)
        self._thread = thread
        self.last: str | None = None

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread == self._thread.ident:
            self.last = one_line(record.getMessage()).split("; ")[0][:200]


@dataclass
class RunReporter:
    """One run's events: spooled first, then delivered by a background thread.

    Without a spool (``None``: it could not be opened) nothing is reported, nor after a
    write to it failed.
    """

    name: str
    command: str
    spool: Spool | None
    server_url: str | None
    token: str | None
    source: RunSource = "wrapper"
    host: str = field(default_factory=socket.gethostname)
    rank: int = field(default_factory=current_rank)
    job: Job | None = field(default_factory=current_job)

    @classmethod
    def open(cls, name: str, command: str, source: RunSource, what: str) -> RunReporter:
        """The reporter for a run from this process's settings; ``what`` runs unreported
        (and stderr says why, once) when the settings or the spool cannot work."""
        try:
            server, token = config.server_url(None), config.agent_token(None)
        except config.ConfigError as exc:
            say_once(text.NOT_REPORTED.format(problem=exc, what=what))
            return cls(name, command, None, None, None, source)
        # Whatever finding or opening the spool raises (no home directory, a file where the
        # data dir should be, a read-only disk, a corrupt file, a bad size setting), the
        # training must not notice.
        path: Path | None = None
        try:
            path = config.spool_path()
            spool = Spool(path, config.spool_max_bytes())
        except Exception as exc:
            problem = text.SPOOL_UNUSABLE.format(path=path, reason=_spool_problem(path, exc))
            say_once(text.NOT_REPORTED.format(problem=problem, what=what))
            return cls(name, command, None, None, None, source)
        return cls(name, command, spool, server, token, source)

    def __post_init__(self) -> None:
        self.run_id = self.job.run_id if self.job else uuid.uuid4().hex
        self._key_prefix = (
            f"{self.run_id}:{self.rank}:{secrets.token_hex(4)}" if self.job else self.run_id
        )
        self._counter = 0
        self._writable = self.spool is not None
        self._emit_lock = threading.Lock()
        self._wake = threading.Event()
        self._idle = threading.Event()
        self._idle.set()
        self._closing = False
        self._thread: threading.Thread | None = None
        self._reporter: Reporter | None = None
        self._notes: _DeliveryNotes | None = None
        if self.spool is not None and self.server_url and self.token:
            self._reporter = Reporter(self.spool, self.server_url, self.token, timeout=5)
            self._thread = threading.Thread(target=self._deliver, name="dlbot-events", daemon=True)
            self._notes = _DeliveryNotes(self._thread)
            logging.getLogger(DELIVERY_LOGGER).addHandler(self._notes)
            self._thread.start()

    def emit(self, kind: EventKind, **fields: Any) -> None:
        spool = self.spool
        if spool is None or not self._writable:
            return
        with self._emit_lock:
            self._counter += 1
            body = {
                "key": f"{self._key_prefix}:{kind}:{self._counter}",
                "run_id": self.run_id,
                "kind": kind,
                "host": self.host,
                "at": format_time(utc_now()),
                "name": self.name,
                "rank": self.rank,
                "source": self.source,
                **self._job_fields(),
                **fields,
            }
            # Whatever writing the spool raises (disk full, a spool gone read-only), the
            # training must not notice: the run is no longer reported.
            try:
                spool.put("event", body)
            except Exception as exc:
                problem = text.SPOOL_FAILED.format(path=spool.path, reason=_reason(exc))
                say_once(text.NOT_REPORTED.format(problem=problem, what="the run"))
                self._writable = False
                return
        self._idle.clear()
        self._wake.set()

    def _job_fields(self) -> dict[str, Any]:
        if self.job is None:
            return {}
        return {"job": one_line(self.job.identity), "world_size": self.job.world_size}

    def started(self, pid: int | None, gpus: list[int] | None) -> None:
        cwd = os.getcwd()
        self.emit(
            "started",
            user=unix_user(),
            command=self.command,
            cwd=cwd,
            pid=pid,
            gpus=gpus,
            git_commit=git_commit(cwd),
        )

    def ended(self, kind: EventKind, **fields: Any) -> None:
        """A finished, crashed or failed_to_start event, naming the owner (any rank may send
        it, and the run may not have heard from rank 0)."""
        self.emit(kind, user=unix_user(), **fields)

    def _deliver(self) -> None:
        assert self._reporter is not None
        backoff = Backoff(base=0.5, cap=30.0)
        while True:
            self._wake.wait()
            self._wake.clear()
            try:
                outcome = self._reporter.drain("event")
            except Exception:
                log.exception("delivering run events failed; they stay in the spool")
                outcome = Outcome.RETRY
            if outcome is Outcome.RETRY:
                if self._closing:
                    self._idle.set()
                    return
                self._wake.wait(backoff.next_delay())
                self._wake.set()
                continue
            backoff.reset()
            self._idle.set()
            if self._closing:
                return

    def close(self) -> None:
        """Give delivery a moment, never more; leave a detached sender for what is left, and
        say so on stderr.

        A delivery still in flight (a slow server) may then send an event the detached sender
        sends too: the server stores each idempotency key once.
        """
        if self._thread is not None:
            self._closing = True
            self._wake.set()
            self._idle.wait(DELIVERY_GRACE_S)
            self._thread.join(0.1)
        if self._notes is not None:
            logging.getLogger(DELIVERY_LOGGER).removeHandler(self._notes)
        spool = self.spool
        if spool is None:
            return
        try:
            self._hand_over(spool)
        finally:
            if not self._thread_alive():
                if self._reporter is not None:
                    self._reporter.close()
                spool.close()

    def _hand_over(self, spool: Spool) -> None:
        if not (self.server_url and self.token):
            return
        try:
            waiting = spool.count("event")
        except Exception as exc:
            log.warning("cannot count the spooled run events: %s", _reason(exc))
            return
        if not waiting:
            return
        reason = (self._notes.last if self._notes else None) or text.NO_ANSWER_YET
        try:
            spawn_detached_sender(spool.path, self.server_url, self.token)
        except OSError as exc:
            log.warning("cannot start the background sender: %s", _reason(exc))
            print(
                text.NOT_DELIVERED_KEPT.format(count=waiting, reason=reason, path=spool.path),
                file=sys.stderr,
            )
            return
        print(text.NOT_DELIVERED.format(count=waiting, reason=reason), file=sys.stderr)

    def _thread_alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()


def _spool_problem(path: Path | None, exc: BaseException) -> str:
    if path is not None and path.parent.exists() and not path.parent.is_dir():
        return f"{path.parent} is not a directory"
    return _reason(exc)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return one_line(exc) or type(exc).__name__


def spawn_detached_sender(spool_path: Path, server_url: str, token: str) -> None:
    env = {**os.environ, "DLBOT_SERVER_URL": server_url, "DLBOT_AGENT_TOKEN": token}
    subprocess.Popen(
        [sys.executable, "-m", "dlbot.agent.sender", str(spool_path)],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        close_fds=True,
    )
