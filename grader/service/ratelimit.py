"""A token bucket per user and kind of request, kept in this API process.

Each user has one bucket per kind (``submit``, ``preview``): it holds up to ``burst`` tokens, refills at
``per_minute`` tokens a minute, and every request takes one. A request that finds the bucket empty is
refused with 429 and ``Retry-After``: the seconds until a token is back. This bounds the rate one user
can cost this process; the hourly submission limit of a set (counted in the database) is what holds
across processes.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from grader.service.errors import TooManyRequests

#: buckets kept before the full (idle) ones are dropped
MAX_BUCKETS = 10_000


@dataclass(frozen=True)
class Rate:
    burst: int  # tokens a full bucket holds
    per_minute: float  # refill; 0 turns the limit off

    @property
    def on(self) -> bool:
        return self.per_minute > 0 and self.burst > 0


class RateLimiter:
    """Token buckets by ``(kind, user id)``; thread-safe (the API serves requests from a thread pool)."""

    def __init__(self, rates: dict[str, Rate], clock: Callable[[], float] = time.monotonic) -> None:
        self.rates = rates
        self.clock = clock
        self._buckets: dict[tuple[str, int], tuple[float, float]] = {}  # -> (tokens, when counted)
        self._lock = threading.Lock()

    def take(self, kind: str, user_id: int) -> None:
        """Take one token of ``kind`` for the user, or raise ``TooManyRequests`` with the wait."""
        rate = self.rates.get(kind)
        if rate is None or not rate.on:
            return
        refill = rate.per_minute / 60.0
        with self._lock:
            now = self.clock()
            tokens, then = self._buckets.get((kind, user_id), (float(rate.burst), now))
            tokens = min(float(rate.burst), tokens + (now - then) * refill)
            if tokens < 1.0:
                self._buckets[(kind, user_id)] = (tokens, now)
                wait = max(1, math.ceil((1.0 - tokens) / refill))
                what = "submissions" if kind == "submit" else f"{kind} requests"
                raise TooManyRequests(f"too many {what}: at most {rate.burst} at once and {rate.per_minute:g} a "
                                      f"minute; try again in {wait} s", retry_after=wait)
            self._buckets[(kind, user_id)] = (tokens - 1.0, now)
            if len(self._buckets) > MAX_BUCKETS:
                self._forget_full(now)

    def _forget_full(self, now: float) -> None:
        """Drop buckets that have refilled: a full bucket is the same as none."""
        for (kind, user), (tokens, then) in list(self._buckets.items()):
            rate = self.rates[kind]
            if tokens + (now - then) * rate.per_minute / 60.0 >= rate.burst:
                del self._buckets[(kind, user)]
