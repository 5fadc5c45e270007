"""Sync dedupe stores that fail as real ones do, for the tests of a claim that raised."""

from __future__ import annotations

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
