"""What the worker read from the API recently, kept for a while so its runs need not read it again.

A read that fails is not kept (the next caller reads again); expired entries are dropped once the cache
holds more than ``max_size``, so a worker serving 100,000 deployments keeps only those of the last moments.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Recent(Generic[K, V]):
    def __init__(self, ttl: float, *, max_size: int = 1024, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self._max_size = max_size
        self._clock = clock
        self._values: dict[K, tuple[float, V]] = {}

    async def get(self, key: K, read: Callable[[], Awaitable[V]]) -> V:
        """The value kept for ``key`` if read less than ``ttl`` seconds ago, else ``await read()`` (kept if it
        returns; its exception propagates and nothing is kept)."""
        now = self._clock()
        kept = self._values.get(key)
        if kept is not None and now - kept[0] <= self.ttl:
            return kept[1]
        value = await read()
        self._values[key] = (now, value)
        if len(self._values) > self._max_size:
            self._values = {k: v for k, v in self._values.items() if now - v[0] <= self.ttl}
        return value

    def __len__(self) -> int:
        return len(self._values)
