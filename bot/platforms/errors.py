"""Why one delivery attempt failed, as every sender classifies it.

A sender makes one attempt and raises one of these; it never sleeps or retries. The outbox
dispatcher decides what happens next, per destination::

    DeliveryError       one attempt failed (never raised itself)
     ├── RateLimited    the platform asked us to wait ``retry_after`` seconds (429, or a
     │                  throttling code in a 200 answer): the destination pauses that long
     ├── Unavailable    transient: 5xx, timeout, network error, a redirect or an answer that
     │                  is not the platform's (an HTML page from a proxy): retried with backoff
     └── Rejected       permanent: bad URL, token or signature, unknown chat, message refused:
                        the row is marked failed and the reason logged

Messages never contain a token, webhook URL or secret: they are logged and stored as they are.
"""

from __future__ import annotations


class DeliveryError(Exception):
    """One delivery attempt failed."""


class RateLimited(DeliveryError):
    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = max(0.0, retry_after)


class Unavailable(DeliveryError):
    """Transient: worth trying again later."""


class Rejected(DeliveryError):
    """Permanent: trying again would fail the same way."""
