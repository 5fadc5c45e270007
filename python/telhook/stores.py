"""Dedupe stores: where a receiver records which events it is handling or has handled.

Every store has the same three methods (the protocol every telhook runtime shares); ``token``
is a random string the adapter makes per delivery, the owner of the claim:

- ``claim(key, token, lease_secs)`` -> ``"new"`` | ``"in_progress"`` | ``"done"``: atomic, at most
  one caller gets ``"new"`` while a claim is live; a claim older than its lease (a worker that
  crashed mid-handler) can be claimed again.
- ``complete(key, token, ttl_secs)``: the event was handled; redeliveries are duplicates for
  ttl_secs. Only while ``token`` still holds the claim, or the key is gone (its lease ran out
  while the handler ran, and nobody took it since: the handler did run); else nothing happens.
- ``release(key, token)``: the handler failed; the provider's next attempt is processed. Only
  while ``token`` still holds the claim, so a worker whose lease expired never frees (or
  completes) the claim another delivery took over.

Which one to use: :class:`MemoryStore` for tests and single-process servers;
:class:`DjangoCacheStore` on a Redis or Memcached cache; :class:`DjangoDatabaseStore` to make
the dedupe row commit or roll back with the handler's own writes; :class:`RedisStore` /
:class:`AsyncRedisStore` for Flask, FastAPI and plain WSGI/ASGI apps.

Importing this module needs neither Django nor redis-py; each store imports what it uses.
"""

from __future__ import annotations

import contextlib
import threading
import time
from typing import (
    TYPE_CHECKING, Any, Awaitable, Callable, Dict, Final, Iterator, List, Literal, Optional, Protocol, Tuple, Union,
    cast,
)

from . import _api

if TYPE_CHECKING:  # pragma: no cover
    import redis
    import redis.asyncio

ClaimState = Literal["new", "in_progress", "done"]
Clock = Callable[[], float]

IN_PROGRESS: Final = "in_progress"
DONE: Final = "done"
# The key prefix and the Redis scripts, shared with Node's redisStore (core: receive::stores).
_TEXTS: Final[Dict[str, str]] = _api.call("dedupe_stores")
KEY_PREFIX: Final = _TEXTS["key_prefix"]


class DedupeStore(Protocol):
    def claim(self, key: str, token: str, lease_secs: int) -> ClaimState: ...

    def complete(self, key: str, token: str, ttl_secs: int) -> None: ...

    def release(self, key: str, token: str) -> None: ...


class AsyncDedupeStore(Protocol):
    def claim(self, key: str, token: str, lease_secs: int) -> Awaitable[ClaimState]: ...

    def complete(self, key: str, token: str, ttl_secs: int) -> Awaitable[None]: ...

    def release(self, key: str, token: str) -> Awaitable[None]: ...


AnyDedupeStore = Union[DedupeStore, AsyncDedupeStore]


def column_key(text: str, width: int) -> str:
    """A key a database column of ``width`` characters takes: the text itself, or its hash
    (:func:`storage_key`) when it is longer than the column or holds NUL, which PostgreSQL's
    text refuses. Refused, every delivery of that verified event failed. Keys that fit stay as
    they are, so a redelivery across an upgrade still finds its key."""
    return storage_key(text) if len(text) > width or "\x00" in text else text


def storage_key(event_id: str) -> str:
    """The name an event id is stored under: the id itself when at most 200 characters of
    printable ASCII without spaces (memcached's rules), else ``sha256:`` and its SHA-256 in hex
    (event ids come from the provider). The core's rule (``receive::stores::storage_key``), which
    every runtime's stores share."""
    if not isinstance(event_id, str):
        raise TypeError("key must be a str")
    return cast(str, _api.call("storage_key", event_id))


def check_store(store: object, argument: str = "store") -> None:
    """A programmer error (TypeError) at construction for an object that is not a store."""
    missing = [name for name in ("claim", "complete", "release") if not callable(getattr(store, name, None))]
    if missing:
        hint = ""
        if callable(getattr(store, "add", None)) and callable(getattr(store, "delete", None)):
            hint = " (add/delete stores of telhook 0.1 need claim/complete/release now: see telhook.stores)"
        raise TypeError(f"{argument} must have claim, complete and release methods; missing {', '.join(missing)}{hint}")


def _check_secs(value: int, argument: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{argument} must be a positive int of seconds")
    return value


def _held(token: str) -> str:
    """The stored value of a live claim: its state and its owner."""
    return IN_PROGRESS + ":" + token


class MemoryStore:
    """One process, thread-safe; ``clock`` (seconds, default ``time.monotonic``) is injectable for tests."""

    def __init__(self, clock: Clock = time.monotonic) -> None:
        if not callable(clock):
            raise TypeError("clock must be a callable returning seconds")
        self._clock = clock
        self._lock = threading.Lock()
        # key -> (state or in_progress:token, expires_at)
        self._entries: Dict[str, Tuple[str, float]] = {}
        self._sweep_at = 1024

    def claim(self, key: str, token: str, lease_secs: int) -> ClaimState:
        _check_secs(lease_secs, "lease_secs")
        now = self._clock()
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry[1] > now:
                return DONE if entry[0] == DONE else IN_PROGRESS
            self._entries[key] = (_held(token), now + lease_secs)
            self._sweep(now)
            return "new"

    def complete(self, key: str, token: str, ttl_secs: int) -> None:
        _check_secs(ttl_secs, "ttl_secs")
        with self._lock:
            entry = self._entries.get(key)
            # Gone (swept after its lease ran out, nobody took it since): the handler did run.
            if entry is None or entry[0] == _held(token):
                self._entries[key] = (DONE, self._clock() + ttl_secs)

    def release(self, key: str, token: str) -> None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry[0] == _held(token):
                del self._entries[key]

    def state(self, key: str) -> Optional[str]:
        """The live state of ``key`` (``None`` if absent or expired), for tests and debugging."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry[1] <= self._clock():
                return None
            return DONE if entry[0] == DONE else IN_PROGRESS

    def _sweep(self, now: float) -> None:
        # Amortized: a full pass only when the map has doubled since the last one.
        if len(self._entries) < self._sweep_at:
            return
        self._entries = {k: v for k, v in self._entries.items() if v[1] > now}
        self._sweep_at = max(1024, 2 * len(self._entries))


class DjangoCacheStore:
    """A Django cache alias. ``cache.add`` is atomic on Redis and Memcached, not on LocMem (one
    process), the file cache or the dummy cache: telhook's system check warns about those.
    The cache API has no compare-and-set: complete and release check the owner, then write
    (the window is a lease expiring between the two calls; RedisStore does it atomically)."""

    def __init__(self, alias: str = "default") -> None:
        if not isinstance(alias, str):
            raise TypeError("alias must be a cache alias (str)")
        self.alias = alias

    def _cache(self) -> Any:
        from django.core.cache import caches

        return caches[self.alias]

    def claim(self, key: str, token: str, lease_secs: int) -> ClaimState:
        _check_secs(lease_secs, "lease_secs")
        name = KEY_PREFIX + storage_key(key)
        cache = self._cache()
        for _ in range(3):  # the key may expire between add and get: try again
            if cache.add(name, _held(token), timeout=lease_secs):
                return "new"
            value = cache.get(name)
            if value == _held(token):  # this delivery's own claim, sent again (see core receive::stores)
                return "new"
            if value is not None:
                return DONE if value == DONE else IN_PROGRESS
        return IN_PROGRESS

    def complete(self, key: str, token: str, ttl_secs: int) -> None:
        _check_secs(ttl_secs, "ttl_secs")
        name = KEY_PREFIX + storage_key(key)
        cache = self._cache()
        held = cache.get(name)
        if held == _held(token):
            cache.set(name, DONE, timeout=ttl_secs)
        elif held is None:
            # Gone (its lease ran out while the handler ran, nobody took it since): the handler
            # did run. `add` writes only if the key is still absent.
            cache.add(name, DONE, timeout=ttl_secs)

    def release(self, key: str, token: str) -> None:
        name = KEY_PREFIX + storage_key(key)
        cache = self._cache()
        if cache.get(name) == _held(token):
            cache.delete(name)


# PostgreSQL's lock_not_available: a lock_timeout ran out.
_LOCK_NOT_AVAILABLE = "55P03"


def _sqlstate(error: BaseException) -> Optional[str]:
    return cast(Optional[str], getattr(error.__cause__, "sqlstate", None))


@contextlib.contextmanager
def _lock_wait_bounded(using: str, milliseconds: int) -> Iterator[None]:
    """On PostgreSQL, lock waits of the statements inside end after ``milliseconds``; the
    transaction's own setting is restored after them (the handler's statements are not bounded)."""
    from django.db import connections

    connection = connections[using]
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('lock_timeout')")
        previous = cursor.fetchone()[0]
        cursor.execute("SELECT set_config('lock_timeout', %s, true)", [f"{milliseconds}ms"])
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('lock_timeout', %s, true)", [previous])


class DjangoDatabaseStore:
    """A table of the ``telhook.django`` app (add it to INSTALLED_APPS and migrate).

    With ``@webhook(..., atomic=True)`` on the same database, the claim, the handler's writes and
    the "done" mark commit or roll back together (exactly-once effects on PostgreSQL). A
    concurrent redelivery does not wait for that transaction: on PostgreSQL its claim gives up
    on the first one's uncommitted row after ``LOCK_WAIT_MS`` and reports it in progress, so the
    provider is told to come back (503 + Retry-After) instead of holding a worker and a
    connection for the whole handler.
    """

    # Long enough for any lock that is not a concurrent claim of the same key; far shorter than
    # a handler. A claim that times out waiting is another delivery's uncommitted claim.
    LOCK_WAIT_MS = 25

    def __init__(self, using: str = "default", clock: Clock = time.time) -> None:
        if not isinstance(using, str):
            raise TypeError("using must be a database alias (str)")
        if not callable(clock):
            raise TypeError("clock must be a callable returning UNIX seconds")
        self.using = using
        self._clock = clock

    def claim(self, key: str, token: str, lease_secs: int) -> ClaimState:
        from django.db import IntegrityError, OperationalError, transaction

        from .django.models import DedupeKey

        _check_secs(lease_secs, "lease_secs")
        name = storage_key(key)
        rows = DedupeKey.objects.using(self.using)
        for _ in range(3):  # a row deleted or taken over between two statements: look again
            now = int(self._clock())
            try:
                # A savepoint inside the handler's transaction. On PostgreSQL an insert of a key
                # that a concurrent, uncommitted transaction holds waits for it: bounded here.
                # (Bounded outside the savepoint: its setting is restored after a rollback to it.)
                with _lock_wait_bounded(self.using, self.LOCK_WAIT_MS), transaction.atomic(using=self.using):
                    rows.create(key=name, state=IN_PROGRESS, token=token, expires_at=now + lease_secs)
                return "new"
            except IntegrityError:
                pass
            except OperationalError as error:
                if _sqlstate(error) == _LOCK_NOT_AVAILABLE:
                    return IN_PROGRESS
                raise
            found = rows.filter(key=name).values_list("state", "expires_at", "token").first()
            if found is None:
                continue
            state, expires_at, old_token = found
            if expires_at > now:
                return DONE if state == DONE else IN_PROGRESS
            taken = rows.filter(key=name, token=old_token, expires_at=expires_at).update(
                state=IN_PROGRESS, token=token, expires_at=now + lease_secs
            )
            if taken:
                return "new"
        return IN_PROGRESS

    def complete(self, key: str, token: str, ttl_secs: int) -> None:
        from django.db import transaction

        from .django.models import DedupeKey

        _check_secs(ttl_secs, "ttl_secs")
        # In a savepoint inside the view's transaction (ATOMIC_REQUESTS): an UPDATE that fails
        # (a statement timeout, a lock timeout) then leaves that transaction able to commit the
        # view's writes, and the done mark is tried again once they are in. Without it
        # PostgreSQL aborts the transaction, whose commit at the request's end is a silent
        # rollback: answered 200, the event's writes gone.
        rows = DedupeKey.objects.using(self.using)
        expires_at = int(self._clock()) + ttl_secs
        with transaction.atomic(using=self.using):
            updated = rows.filter(key=storage_key(key), state=IN_PROGRESS, token=token).update(
                state=DONE, expires_at=expires_at
            )
            if not updated:
                # Gone (purged after its lease ran out while the handler ran, nobody took it
                # since): the handler did run, as every store marks it.
                rows.get_or_create(key=storage_key(key), defaults={"state": DONE, "token": token,
                                                                   "expires_at": expires_at})

    def release(self, key: str, token: str) -> None:
        from .django.models import DedupeKey

        DedupeKey.objects.using(self.using).filter(key=storage_key(key), state=IN_PROGRESS, token=token).delete()

    def purge_expired(self) -> int:
        """Deletes rows whose lease or dedupe TTL has passed (run it daily); returns how many."""
        from .django.models import DedupeKey

        deleted, _ = DedupeKey.objects.using(self.using).filter(expires_at__lte=int(self._clock())).delete()
        return int(deleted)


def _claim_state(reply: Union[bytes, str]) -> ClaimState:
    """The claim script's answer; anything else is a broken client or server: an error (503,
    logged), never a guessed state (as Node's redisStore)."""
    text = reply.decode("ascii", "replace") if isinstance(reply, bytes) else reply
    if text == "new":
        return "new"
    if text in (DONE, IN_PROGRESS):
        return DONE if text == DONE else IN_PROGRESS
    raise ValueError("RedisStore: the claim script answered something other than new, in_progress or done")


def _connection_closed(error: BaseException) -> bool:
    """A pooled connection the server closed (a Redis restart, a failover, ``CLIENT KILL``,
    an idle timeout), or a reply lost with it: a new connection takes the command. A client
    without a retry policy (redis-py before 6, or one built with ``retry=None``) tries nothing
    again: each pooled connection's first claim after a restart was a 503 (a review), which
    loses a Twilio or DID reseller event. Each script here is safe to run twice, even after the
    first ran: a claim with the same token answers "new" to its own claim, and complete and
    release are idempotent."""
    try:
        from redis.exceptions import ConnectionError as RedisConnectionError, TimeoutError as RedisTimeoutError
    except ImportError:  # pragma: no cover (a client exists, so redis-py does)
        return False
    return isinstance(error, RedisConnectionError) and not isinstance(error, RedisTimeoutError)


class RedisStore:
    """redis-py (``redis.Redis``): each transition is one Lua script (atomic on the server),
    run once more on a new connection when the server had closed the pooled one."""

    def __init__(self, client: "redis.Redis", prefix: str = KEY_PREFIX) -> None:
        if not callable(getattr(client, "register_script", None)):
            raise TypeError("client must be a redis.Redis client")
        self.client = client
        self.prefix = prefix
        self._claim = client.register_script(_TEXTS["redis_claim"])
        self._complete = client.register_script(_TEXTS["redis_complete"])
        self._release = client.register_script(_TEXTS["redis_release"])

    def _run(self, script: Any, name: str, args: List[object]) -> Any:
        try:
            return script(keys=[name], args=args)
        except Exception as error:
            if not _connection_closed(error):
                raise
            return script(keys=[name], args=args)

    def claim(self, key: str, token: str, lease_secs: int) -> ClaimState:
        name = self.prefix + storage_key(key)
        return _claim_state(self._run(self._claim, name, [token, _check_secs(lease_secs, "lease_secs")]))

    def complete(self, key: str, token: str, ttl_secs: int) -> None:
        name = self.prefix + storage_key(key)
        self._run(self._complete, name, [token, _check_secs(ttl_secs, "ttl_secs")])

    def release(self, key: str, token: str) -> None:
        self._run(self._release, self.prefix + storage_key(key), [token])


class AsyncRedisStore:
    """The same on ``redis.asyncio.Redis``, for FastAPI and other asyncio apps (a script run
    once more when the server had closed the pooled connection, as ``RedisStore``'s)."""

    def __init__(self, client: "redis.asyncio.Redis", prefix: str = KEY_PREFIX) -> None:
        if not callable(getattr(client, "register_script", None)):
            raise TypeError("client must be a redis.asyncio.Redis client")
        self.client = client
        self.prefix = prefix
        self._claim = client.register_script(_TEXTS["redis_claim"])
        self._complete = client.register_script(_TEXTS["redis_complete"])
        self._release = client.register_script(_TEXTS["redis_release"])

    async def _run(self, script: Any, name: str, args: List[object]) -> Any:
        try:
            return await script(keys=[name], args=args)
        except Exception as error:
            if not _connection_closed(error):
                raise
            return await script(keys=[name], args=args)

    async def claim(self, key: str, token: str, lease_secs: int) -> ClaimState:
        name = self.prefix + storage_key(key)
        reply = await self._run(self._claim, name, [token, _check_secs(lease_secs, "lease_secs")])
        return _claim_state(reply)

    async def complete(self, key: str, token: str, ttl_secs: int) -> None:
        name = self.prefix + storage_key(key)
        await self._run(self._complete, name, [token, _check_secs(ttl_secs, "ttl_secs")])

    async def release(self, key: str, token: str) -> None:
        await self._run(self._release, self.prefix + storage_key(key), [token])


__all__ = [
    "AnyDedupeStore", "AsyncDedupeStore", "AsyncRedisStore", "ClaimState", "DedupeStore", "DjangoCacheStore",
    "DjangoDatabaseStore", "MemoryStore", "RedisStore", "storage_key",
]
