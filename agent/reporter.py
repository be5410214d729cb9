"""Delivery of spooled entries to the central service over HTTP (httpx).

Each queue is drained on its own (samples to ``POST /api/v1/reports``, run events to
``POST /api/v1/events``); callers run them independently, so one failing never stops the
other. What an answer does to the entries it answers for:

- **confirmed**, a 2xx with the documented body (``{"accepted", "stale"}`` for reports,
  ``{"accepted", "duplicates"}`` for events): deleted from the spool. Nothing else deletes.
- **rejected**, a 422 naming entries by their index: those entries are dropped, each logged
  with a short summary (host, kind, key or seq); the rest are sent again at once.
- **refused**, a 403, 413 or other 4xx, a 422 naming none, or a 5xx: any one entry may be the
  cause, so the entries are sent again one at a time (at most ``ISOLATE_COUNT`` per pass). An
  entry gets a strike only when the server is seen working for others: refused on its own both
  before and after another entry of its queue was confirmed, or, for a 4xx (an answer about
  the entry itself), refused while the server confirmed any entry in the last ``WITNESS_S``.
  A struck entry is held back for a growing while so that the queue flows past it; after
  ``max_strikes`` strikes it moves to the spool's quarantine (kept, counted, logged once). A
  server that refuses everything (down, or failing every request) therefore strikes nothing
  and quarantines nothing: the queue waits and backs off, and the entries go once it is back.
- **unavailable**, anything that says nothing about the entries: no answer or a timeout, a 3xx
  (redirects are not followed), 401, 404/405/410, 408, 429, or a 2xx with another body (a
  proxy's login page). Every entry is kept and the caller backs off, honouring Retry-After.

Each problem is logged as one line (its cause first, before "; ") when it starts; repeats go
to DEBUG until the queue is delivered again. Answers are streamed and read up to
``BODY_CAP`` bytes and ``timeout`` seconds, so a huge or endless body never lands in memory.
The token is never logged.
"""

from __future__ import annotations

import json
import logging
import random
import sys
import time
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from enum import Enum
from typing import Any

import httpx

from dlbot.agent.spool import Kind, Spool, SpoolEntry, SpoolUnavailable

log = logging.getLogger("dlbot.agent")

ENDPOINTS: dict[Kind, str] = {"sample": "/api/v1/reports", "event": "/api/v1/events"}
CONFIRMATION_COUNTS: dict[Kind, tuple[str, str]] = {
    "sample": ("accepted", "stale"),
    "event": ("accepted", "duplicates"),
}
BATCH_COUNT = 100
BATCH_BYTES = 512 * 1024
BODY_CAP = 64 * 1024
ISOLATE_COUNT = 8
WITNESS_S = 300.0
HOLD_CAP_S = 300.0
RETRY_AFTER_CAP_S = 900.0
SUMMARY_FIELDS = ("kind", "host", "key", "run_id", "seq")


class Outcome(Enum):
    DELIVERED = "delivered"
    EMPTY = "empty"
    RETRY = "retry"


class Problem(Enum):
    """Why a queue is waiting (``Reporter.last_failure``)."""

    UNREACHABLE = "the server could not be reached"
    TOKEN_REFUSED = "the server refused the agent token"
    WRONG_SERVER = "the address does not answer like a dlbot server"
    BUSY = "the server asked to wait"
    SERVER_ERROR = "the server failed"
    REFUSED = "the server refused the entries"
    SPOOL = "the spool cannot be used"


@dataclass(frozen=True)
class DeliveryFailure:
    problem: Problem
    message: str
    retry_after: float | None = None


class _Verdict(Enum):
    CONFIRMED = "confirmed"
    REJECTED = "rejected"
    REFUSED = "refused"
    UNAVAILABLE = "unavailable"


@dataclass(frozen=True)
class _Answer:
    verdict: _Verdict
    failure: DeliveryFailure | None = None
    about_entry: bool = False
    rejected: dict[int, str] = field(default_factory=dict)


_CONFIRMED = _Answer(_Verdict.CONFIRMED)


class Backoff:
    """Capped exponential backoff with full jitter (in seconds)."""

    def __init__(self, base: float = 1.0, cap: float = 30.0) -> None:
        self.base = base
        self.cap = cap
        self.failures = 0

    def reset(self) -> None:
        self.failures = 0

    def next_delay(self) -> float:
        self.failures += 1
        ceiling = min(self.cap, self.base * 2 ** min(self.failures - 1, 16))
        return random.uniform(ceiling / 2, ceiling)


@dataclass
class Reporter:
    spool: Spool
    server_url: str
    token: str
    timeout: float = 10.0
    max_strikes: int = 5
    hold_base_s: float = 5.0

    def __post_init__(self) -> None:
        self._base_url = self.server_url.rstrip("/")
        self._client = httpx.Client(
            base_url=self._base_url,
            headers={"Authorization": f"Bearer {self.token}", "Accept-Encoding": "identity"},
            timeout=self.timeout,
            follow_redirects=False,
        )
        self._failures: dict[Kind, DeliveryFailure] = {}
        self._confirmed_at = float("-inf")

    def last_failure(self, kind: Kind) -> DeliveryFailure | None:
        """Why the queue is waiting, or None once the server confirmed it again."""
        return self._failures.get(kind)

    def retry_delay(self, kind: Kind, backoff: Backoff) -> float:
        """The backoff's next delay, or longer when the server said when to come back."""
        delay = backoff.next_delay()
        failure = self._failures.get(kind)
        if failure is not None and failure.retry_after is not None:
            delay = max(delay, failure.retry_after)
        return delay

    def drain(self, kind: Kind, deadline: float | None = None) -> Outcome:
        """Send entries of one kind until none is left to send, a failure, or the deadline."""
        progressed = False
        try:
            while deadline is None or time.monotonic() < deadline:
                batch = self.spool.peek(kind, BATCH_COUNT, BATCH_BYTES)
                if not batch:
                    return Outcome.DELIVERED if progressed else Outcome.EMPTY
                suspect = batch[0].tries > 0
                if not (self._isolate(kind) if suspect else self._send_batch(kind, batch)):
                    return Outcome.RETRY
                progressed = True
        except SpoolUnavailable as exc:
            self._failed(kind, DeliveryFailure(Problem.SPOOL, str(exc)), count=False)
            return Outcome.RETRY
        return Outcome.DELIVERED

    def _send_batch(self, kind: Kind, batch: list[SpoolEntry]) -> bool:
        answer = self._post(kind, batch)
        if answer.verdict is _Verdict.CONFIRMED:
            self._confirmed(kind, batch)
            return True
        if answer.verdict is _Verdict.REJECTED:
            self._drop(kind, batch, answer)
            return True
        if answer.verdict is _Verdict.REFUSED:
            return self._isolate(kind, (batch[0], answer) if len(batch) == 1 else None)
        assert answer.failure is not None
        self._failed(kind, answer.failure)
        return False

    def _isolate(self, kind: Kind, known: tuple[SpoolEntry, _Answer] | None = None) -> bool:
        """Send entries one at a time until one is confirmed, to find which are refused.

        ``known`` is the head entry's answer when it was just sent on its own.
        """
        refused = [known] if known else []
        for entry in self.spool.peek(kind, ISOLATE_COUNT, sys.maxsize):
            if known and entry.id == known[0].id:
                continue
            answer = self._post(kind, [entry])
            if answer.verdict is _Verdict.UNAVAILABLE:
                assert answer.failure is not None
                self._failed(kind, answer.failure)
                return False
            if answer.verdict is _Verdict.REFUSED:
                refused.append((entry, answer))
                continue
            self._settle(kind, entry, answer)
            self._recheck(kind, refused)
            return True
        return self._judge(kind, refused)

    def _settle(self, kind: Kind, entry: SpoolEntry, answer: _Answer) -> None:
        if answer.verdict is _Verdict.CONFIRMED:
            self._confirmed(kind, [entry])
        else:
            self._drop(kind, [entry], answer)

    def _recheck(self, kind: Kind, refused: list[tuple[SpoolEntry, _Answer]]) -> None:
        """Send the entries refused before a confirmation once more: refused again while the
        server works for others, they are struck."""
        for entry, _ in refused:
            answer = self._post(kind, [entry])
            if answer.verdict is _Verdict.UNAVAILABLE:
                return
            if answer.verdict is _Verdict.REFUSED:
                self._strike(kind, entry, answer)
            else:
                self._settle(kind, entry, answer)

    def _judge(self, kind: Kind, refused: list[tuple[SpoolEntry, _Answer]]) -> bool:
        """With nothing confirmed in the pass: strike the entries refused with a 4xx (about the
        entry itself) if the server confirmed anything lately; True if any was struck."""
        recently = time.monotonic() - self._confirmed_at < WITNESS_S
        struck = [(e, a) for e, a in refused if a.about_entry and recently]
        for entry, answer in struck:
            self._strike(kind, entry, answer)
        if refused and not struck:
            failure = refused[0][1].failure
            assert failure is not None
            self._failed(kind, failure)
        return bool(struck)

    def _strike(self, kind: Kind, entry: SpoolEntry, answer: _Answer) -> None:
        assert answer.failure is not None
        reason = answer.failure.message
        hold_s = min(HOLD_CAP_S, self.hold_base_s * 2**entry.tries)
        tries = self.spool.strike(entry.id, hold_s)
        if tries < self.max_strikes:
            log.info(
                "%s refused on its own (%s); held back %.0f s, strike %d of %d",
                _summary(kind, entry.body),
                self._scrub(reason),
                hold_s,
                tries,
                self.max_strikes,
            )
            return
        self.spool.quarantine(entry.id, self._scrub(reason))
        log.warning(
            "moved %s to quarantine after %d refusals (last: %s); %d %s(s) in quarantine in %s",
            _summary(kind, entry.body),
            tries,
            self._scrub(reason),
            self.spool.quarantined(kind),
            kind,
            self.spool.path,
        )

    def _drop(self, kind: Kind, batch: list[SpoolEntry], answer: _Answer) -> None:
        named = [(batch[i], why) for i, why in sorted(answer.rejected.items())]
        self.spool.delete([entry.id for entry, _ in named])
        for entry, why in named:
            log.error(
                "server rejected %s (422: %s); dropped it",
                _summary(kind, entry.body),
                self._scrub(why),
            )

    def _confirmed(self, kind: Kind, batch: list[SpoolEntry]) -> None:
        self.spool.delete([entry.id for entry in batch])
        self._confirmed_at = time.monotonic()
        if self._failures.pop(kind, None) is not None:
            log.info("server confirmed %ss again", kind)

    def _failed(self, kind: Kind, failure: DeliveryFailure, *, count: bool = True) -> None:
        previous = self._failures.get(kind)
        self._failures[kind] = failure
        level = (
            logging.DEBUG if previous and previous.message == failure.message else logging.WARNING
        )
        if count:
            log.log(
                level,
                "%s; %d %s(s) kept in the spool",
                self._scrub(failure.message),
                self.spool.count(kind),
                kind,
            )
        else:
            log.log(level, "%s; delivery waits", self._scrub(failure.message))

    def _scrub(self, text: str) -> str:
        """Server-provided text with the token blanked, should a proxy ever echo it."""
        return text.replace(self.token, "[token]") if self.token else text

    def _post(self, kind: Kind, batch: list[SpoolEntry]) -> _Answer:
        url = self._base_url + ENDPOINTS[kind]
        deadline = time.monotonic() + self.timeout
        try:
            with self._client.stream(
                "POST", ENDPOINTS[kind], json=[entry.body for entry in batch]
            ) as response:
                body = _read_capped(response, deadline)
        except httpx.TimeoutException as exc:
            return _unavailable(
                Problem.UNREACHABLE,
                f"no answer from {url} within {self.timeout:g} s ({type(exc).__name__})",
            )
        except httpx.HTTPError as exc:
            return _unavailable(
                Problem.UNREACHABLE,
                f"cannot reach the server at {url} ({type(exc).__name__}: {_one_line(exc)})",
            )
        return _classify(kind, len(batch), response, body, url)

    def close(self) -> None:
        self._client.close()


def _read_capped(response: httpx.Response, deadline: float) -> bytes:
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        chunks.append(chunk[: BODY_CAP - size])
        size += len(chunk)
        if size >= BODY_CAP:
            break
        if time.monotonic() > deadline:
            raise httpx.ReadTimeout("the answer took too long", request=response.request)
    return b"".join(chunks)


def _classify(kind: Kind, count: int, response: httpx.Response, body: bytes, url: str) -> _Answer:
    """What an answer to ``count`` entries of ``kind`` means for them."""
    status = response.status_code
    if 200 <= status < 300:
        if _is_confirmation(kind, body):
            return _CONFIRMED
        return _unavailable(
            Problem.WRONG_SERVER,
            f"server answered {status} with {_describe(response, body)} instead of the dlbot"
            f" answer for {url}: a login page or proxy in the way? check --server",
        )
    if 300 <= status < 400:
        location = response.headers.get("location", "nowhere")
        return _unavailable(
            Problem.WRONG_SERVER,
            f"server answered {status} redirecting {url} to {location}: check --server",
        )
    detail = _detail(body)
    if status == 401:
        return _unavailable(
            Problem.TOKEN_REFUSED, f"server refused the agent token (401: {detail or 'no reason'})"
        )
    if status in (404, 405, 410):
        return _unavailable(
            Problem.WRONG_SERVER,
            f"server answered {status} for {url}: is it a dlbot server? check --server",
        )
    if status in (408, 429):
        retry_after = _retry_after(response.headers.get("retry-after"))
        wait = f", retry after {retry_after:g} s" if retry_after is not None else ""
        return _Answer(
            _Verdict.UNAVAILABLE,
            DeliveryFailure(Problem.BUSY, f"server is busy ({status}{wait})", retry_after),
        )
    if status == 422 and (named := _named_entries(body, count)):
        return _Answer(_Verdict.REJECTED, rejected=named)
    if status == 403:
        failure = DeliveryFailure(
            Problem.TOKEN_REFUSED, f"server refused the agent token (403: {detail or 'forbidden'})"
        )
        return _Answer(_Verdict.REFUSED, failure, about_entry=True)
    if status < 500:
        failure = DeliveryFailure(
            Problem.REFUSED, f"server refused the {kind}s ({status}: {detail or 'no reason'})"
        )
        return _Answer(_Verdict.REFUSED, failure, about_entry=True)
    retry_after = _retry_after(response.headers.get("retry-after"))
    return _Answer(
        _Verdict.REFUSED,
        DeliveryFailure(Problem.SERVER_ERROR, f"server answered {status} for {url}", retry_after),
    )


def _unavailable(problem: Problem, message: str) -> _Answer:
    return _Answer(_Verdict.UNAVAILABLE, DeliveryFailure(problem, message))


def _is_confirmation(kind: Kind, body: bytes) -> bool:
    data = _json(body)
    return isinstance(data, dict) and all(
        type(data.get(name)) is int and data[name] >= 0 for name in CONFIRMATION_COUNTS[kind]
    )


def _named_entries(body: bytes, count: int) -> dict[int, str]:
    """The entries a 422 names (by their index in the request) with what is wrong with each.

    FastAPI puts the index right after "body", or after the union member's name for reports
    (``["body", "list[HostReportIn]", 1, "seq"]``).
    """
    data = _json(body)
    errors = data.get("detail") if isinstance(data, dict) else None
    named: dict[int, str] = {}
    for error in errors if isinstance(errors, list) else []:
        loc = error.get("loc") if isinstance(error, dict) else None
        if not isinstance(loc, list) or loc[:1] != ["body"]:
            continue
        position = next((i for i in (1, 2) if i < len(loc) and type(loc[i]) is int), None)
        if position is None or not 0 <= loc[position] < count:
            continue
        where = ".".join(str(part) for part in loc[position + 1 :]) or "entry"
        named.setdefault(loc[position], f"{where}: {_one_line(error.get('msg', 'invalid'))}")
    return named


def _detail(body: bytes) -> str:
    data = _json(body)
    detail = data.get("detail") if isinstance(data, dict) else None
    return _one_line(detail) if isinstance(detail, str) else ""


def _describe(response: httpx.Response, body: bytes) -> str:
    content_type = response.headers.get("content-type", "no content type").split(";")[0]
    start = body[:60].decode("utf-8", "replace")
    return f"{content_type} {_one_line(start)!r}" if start else f"an empty {content_type} body"


def _retry_after(value: str | None) -> float | None:
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        seconds = float(value)
    else:
        try:
            seconds = parsedate_to_datetime(value).timestamp() - time.time()
        except (TypeError, ValueError):
            return None
    return min(max(seconds, 0.0), RETRY_AFTER_CAP_S)


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return None


def _one_line(value: object, limit: int = 200) -> str:
    return " ".join(str(value).split())[:limit]


def _summary(kind: Kind, body: dict[str, Any]) -> str:
    """A short description of an entry for a log line (never its whole body)."""
    parts = [
        f"{name}={_one_line(body[name], 80)}"
        for name in SUMMARY_FIELDS
        if name in body and body[name] is not None
    ]
    return f"{kind} ({', '.join(parts)})" if parts else kind
