"""Sync dedupe stores that fail as real ones do, for the tests of a claim that raised."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any, List

from telhook.stores import MemoryStore


class LandsThenTimesOut:
    """Every claim lands in `memory`, then raises as a client's socket timeout does after the
    server ran the command. Records the name of the thread each release ran in."""

    def __init__(self, memory: MemoryStore) -> None:
        self.memory = memory
        self.released_in: List[str] = []

    def claim(self, key: str, token: str, lease_secs: int) -> Any:
        self.memory.claim(key, token, lease_secs)
        raise TimeoutError("the reply did not come in time")

    def complete(self, key: str, token: str, ttl_secs: int) -> None:
        self.memory.complete(key, token, ttl_secs)

    def release(self, key: str, token: str) -> None:
        self.released_in.append(threading.current_thread().name)
        self.memory.release(key, token)


class Down:
    """A store that is down: every call raises. Records when each release was tried."""

    def __init__(self) -> None:
        self.releases: List[float] = []

    def claim(self, key: str, token: str, lease_secs: int) -> Any:
        raise ConnectionError("the store is down")

    def complete(self, key: str, token: str, ttl_secs: int) -> None:
        raise ConnectionError("the store is down")

    def release(self, key: str, token: str) -> None:
        self.releases.append(time.monotonic())
        raise ConnectionError("the store is still down")


class SettlesAfterOutage:
    """Claims land in `memory`; the first `outage` settling calls (complete or release) raise,
    as during a store outage of a few seconds, the later ones land. Records the thread each
    settling call ran in."""

    def __init__(self, memory: MemoryStore, outage: int = 2) -> None:
        self.memory = memory
        self.outage = outage
        self.settled_in: List[str] = []

    def _settle(self) -> None:
        self.settled_in.append(threading.current_thread().name)
        if self.outage > 0:
            self.outage -= 1
            raise ConnectionError("connection reset by peer")

    def claim(self, key: str, token: str, lease_secs: int) -> Any:
        return self.memory.claim(key, token, lease_secs)

    def complete(self, key: str, token: str, ttl_secs: int) -> None:
        self._settle()
        self.memory.complete(key, token, ttl_secs)

    def release(self, key: str, token: str) -> None:
        self._settle()
        self.memory.release(key, token)


class AsyncSettlesAfterOutage(SettlesAfterOutage):
    """`SettlesAfterOutage` with async methods (an asyncio Redis client's)."""

    async def claim(self, key: str, token: str, lease_secs: int) -> Any:  # type: ignore[override]
        return super().claim(key, token, lease_secs)

    async def complete(self, key: str, token: str, ttl_secs: int) -> None:  # type: ignore[override]
        await asyncio.sleep(0)
        super().complete(key, token, ttl_secs)

    async def release(self, key: str, token: str) -> None:  # type: ignore[override]
        await asyncio.sleep(0)
        super().release(key, token)
