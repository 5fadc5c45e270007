"""The inbox: accept fast, process later.

In inbox mode a delivery is verified, normalized and **stored** — the event and its idempotency
key in one atomic step — and answered 200 at once; a worker runs your handler later, outside the
provider's timeout, with retries, dead letters and replay. Acknowledged means stored.

Every rule (which answer, when an event is due, the backoff, when it is dead, what a replay
does) is the core's (``core/src/inbox.rs``); this module and the engines built on it
(``telhook.django.inbox``, ``telhook.sqlalchemy``) only store and move records:

- :func:`accept` / :func:`aaccept`: one delivery into an inbox (any object with
  ``enqueue(key, event, dedupe_ttl_secs) -> "new" | "duplicate" | "in_progress"``, the last
  when another delivery of the event is being stored right now: 503 with Retry-After);
- :class:`InboxPolicy`: attempts, lease, backoff and retention, checked when built;
- :func:`claimed`, :func:`succeeded`, :func:`failed`, :func:`replayed`, :func:`retried_now`: a record's next state
  (``None`` when the step does not apply: not due, or the lease was lost);
- :class:`MemoryInbox`: an inbox in memory, for tests and one process.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Dict, List, Literal, Optional, Protocol, TypedDict, Union, cast

from ._api import call
from ._receive import (
    BodySource, Delivery, HeaderPairs, Response, arun, no_handler, refuse_async, returned_synchronously, run,
    within_declared_length,
)
from .types import InboxState, NormalizedEvent

# "in_progress": another delivery of the event is being stored right now (its transaction has
# not committed): answered 503 with Retry-After, as a claim in progress is.
Enqueued = Literal["new", "duplicate", "in_progress"]


class Inbox(Protocol):
    """Where inbox mode stores events. ``enqueue`` is one atomic step: store the event and
    claim ``key`` for ``dedupe_ttl_secs`` ("new"), or find the key claimed and write nothing
    ("duplicate")."""

    def enqueue(self, key: str, event: NormalizedEvent, dedupe_ttl_secs: int) -> Enqueued: ...


class AsyncInbox(Protocol):
    def enqueue(self, key: str, event: NormalizedEvent, dedupe_ttl_secs: int) -> Awaitable[Enqueued]: ...


AnyInbox = Union[Inbox, AsyncInbox]


class Record(TypedDict):
    """A stored event's processing columns (the core's ``InboxRecord``)."""

    state: InboxState
    attempts: int
    run_at: Optional[int]  # due when run_at <= now; None when done or dead
    last_error_code: Optional[str]
    last_error_message: Optional[str]
    created_at: int
    updated_at: int
    keep_until: Optional[int]


#: The columns that identify one version of a record. Every store writes a step conditioned on
#: them (compare and set): it applies to the record it was computed from, or to nothing, so
#: the database decides which worker's claim or outcome lands, with or without row locks.
RECORD_VERSION = ("state", "attempts", "run_at", "updated_at")


class InboxPolicy:
    """How stored events are processed: ``max_attempts`` (8) before an event is dead,
    ``lease_secs`` (300) a worker holds one (set it above your slowest handler),
    ``backoff_secs`` (30, doubled per attempt) up to ``max_backoff_secs`` (3600), and
    ``retention_secs`` (7 days) a done event is kept. Checked by the core when built
    (``ConfigurationError`` ``invalid_option`` naming the option)."""

    __slots__ = ("options",)

    def __init__(
        self,
        *,
        max_attempts: Optional[int] = None,
        lease_secs: Optional[int] = None,
        backoff_secs: Optional[int] = None,
        max_backoff_secs: Optional[int] = None,
        retention_secs: Optional[int] = None,
    ) -> None:
        given = {"max_attempts": max_attempts, "lease_secs": lease_secs, "backoff_secs": backoff_secs,
                 "max_backoff_secs": max_backoff_secs, "retention_secs": retention_secs}
        from . import _options_json  # the one JSON form of options for the core (NaN, datetimes)

        self.options: Dict[str, int] = call("inbox_policy", json.loads(_options_json(given)))

    @property
    def max_attempts(self) -> int:
        return self.options["max_attempts"]

    @property
    def lease_secs(self) -> int:
        return self.options["lease_secs"]

    @property
    def retention_secs(self) -> int:
        return self.options["retention_secs"]

    def __repr__(self) -> str:
        return f"InboxPolicy({', '.join(f'{k}={v}' for k, v in sorted(self.options.items()))})"


def new_record(now: int) -> Record:
    """A newly stored event: pending, due now."""
    return cast(Record, call("inbox_enqueued", now))


def _step(policy: InboxPolicy, record: Record, event: Dict[str, str], now: int) -> Optional[Record]:
    result = call("inbox_step", policy.options, record, event, now)
    return cast(Optional[Record], result.get("record"))


def claimed(policy: InboxPolicy, record: Record, now: int) -> Optional[Record]:
    """The record a worker takes: ``processing`` (run the handler) or ``dead`` (out of
    attempts: its last worker died); ``None`` when it is not due."""
    return _step(policy, record, {"event": "claimed"}, now)


def succeeded(policy: InboxPolicy, record: Record, now: int) -> Optional[Record]:
    """Done; ``None`` when this worker's lease was lost (do not record, roll back)."""
    return _step(policy, record, {"event": "succeeded"}, now)


def failed(policy: InboxPolicy, record: Record, error: BaseException, now: int) -> Optional[Record]:
    """Failed (due again after the backoff) or dead; the error's type and a bounded message
    are kept. ``None`` when this worker's lease was lost."""
    code = type(error).__qualname__
    return _step(policy, record, {"event": "failed", "code": code, "message": _message_of(error)}, now)


def _message_of(error: BaseException) -> str:
    """``str(error)``, or a text saying it had none: an exception whose ``__str__`` raises must
    still fail its attempt (it escaped the recording: logged as a database outage, the event held
    for its whole lease, its error lost; a review)."""
    try:
        return str(error)
    except Exception:  # noqa: BLE001 - any failure of the user's __str__ is the same here
        return f"(str() of this {type(error).__qualname__} raised)"


def replayed(policy: InboxPolicy, record: Record, now: int) -> Optional[Record]:
    """Pending again with a fresh set of attempts; ``None`` while a worker holds it."""
    return _step(policy, record, {"event": "replayed"}, now)


def retried_now(policy: InboxPolicy, record: Record, now: int) -> Optional[Record]:
    """A waiting event (pending, or failed and backing off) due now, its attempts kept;
    ``None`` for done, dead (replay those) and processing events."""
    return _step(policy, record, {"event": "retried_now"}, now)


def purgeable(record: Record, now: int) -> bool:
    """Done and past its retention (dead events are kept until replayed or deleted)."""
    return record["state"] == "done" and record["keep_until"] is not None and record["keep_until"] <= now


# ------------------------------------------------------------------ the request path


def accept(
    receiver: Any,
    *,
    method: str,
    url: Optional[str],
    headers: Any,
    body: BodySource,
    inbox: Inbox,
) -> Response:
    """One delivery in inbox mode: verify, normalize, store, answer (200 ``queued`` when
    stored, 200 ``duplicate`` for a redelivery, 503 when the inbox fails — the provider
    retries). The handler is not called here: a worker calls it."""
    delivery, method, pairs = _checked(receiver, method, headers, inbox)
    body = within_declared_length(body, pairs)
    answer, _ = run(delivery, method, url, pairs, body, no_handler)
    return answer.response()


async def aaccept(
    receiver: Any,
    *,
    method: str,
    url: Optional[str],
    headers: Any,
    body: BodySource,
    inbox: AnyInbox,
) -> Response:
    """:func:`accept` for asyncio: the inbox's ``enqueue`` may be a coroutine; it is abandoned
    after the receiver's ``store_deadline_ms`` (503, the provider retries)."""
    delivery, method, pairs = _checked(receiver, method, headers, inbox)
    body = within_declared_length(body, pairs)
    answer, _ = await arun(delivery, method, url, pairs, body, no_handler)
    return answer.response()


def check_inbox(inbox: object, argument: str = "inbox") -> None:
    if not callable(getattr(inbox, "enqueue", None)):
        raise TypeError(f"{argument} must have an enqueue(key, event, dedupe_ttl_secs) method (see telhook.inbox)")


def _checked(receiver: object, method: object, headers: Any, inbox: object) -> "tuple[Delivery, str, HeaderPairs]":
    from . import Receiver, _header_pairs

    if not isinstance(receiver, Receiver):
        raise TypeError("receiver must be a telhook.Receiver")
    if not isinstance(method, str):
        raise TypeError("method must be a str")
    check_inbox(inbox)
    return Delivery(receiver, cast(Any, inbox), inbox=True), method, _header_pairs(headers)


# ------------------------------------------------------------------ in memory


@dataclass
class StoredEvent:
    event: NormalizedEvent
    record: Record
    id: int = 0


@dataclass
class MemoryInbox:
    """An inbox in memory (tests, one process): events in the order stored. ``clock`` gives
    UNIX seconds (``time.time`` unless set)."""

    policy: InboxPolicy = field(default_factory=InboxPolicy)
    clock: Callable[[], float] = time.time
    events: List[StoredEvent] = field(default_factory=list)
    _keys: Dict[str, int] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.policy, InboxPolicy):
            raise TypeError("policy must be a telhook.inbox.InboxPolicy")
        from . import _check_clock

        _check_clock(self.clock)  # milliseconds would make a 24 h dedupe window 86 s

    def _now(self) -> int:
        return int(self.clock())

    def enqueue(self, key: str, event: NormalizedEvent, dedupe_ttl_secs: int) -> Enqueued:
        now = self._now()
        if self._keys.get(key, now) > now:
            return "duplicate"
        self._keys[key] = now + dedupe_ttl_secs
        self.events.append(StoredEvent(event, new_record(now), id=len(self.events)))
        return "new"

    def claim_due(self) -> List[StoredEvent]:
        """Takes every due event (now processing, or dead when out of attempts)."""
        now, taken = self._now(), []
        for stored in self.events:
            record = claimed(self.policy, stored.record, now)
            if record is not None:
                stored.record = record
                if record["state"] == "processing":
                    taken.append(stored)
        return taken

    def record(
        self, stored: StoredEvent, error: Optional[BaseException], claimed_with: Optional[Record] = None
    ) -> None:
        """Records how a taken event's handler ended (``error`` None: it succeeded). With
        ``claimed_with`` (the record it was taken with), only if the event still holds that
        claim: a handler that outlived its lease while another pass took the event over records
        nothing."""
        if claimed_with is not None and stored.record is not claimed_with:
            return
        now = self._now()
        if error is None:
            record = succeeded(self.policy, stored.record, now)
        else:
            record = failed(self.policy, stored.record, error, now)
        if record is not None:
            stored.record = record

    def work(self, handler: Callable[[NormalizedEvent], object]) -> int:
        """One worker pass: every due event's handler, its outcome recorded; how many ran."""
        refuse_async(handler)
        taken = [(stored, stored.record) for stored in self.claim_due()]
        for stored, claimed_with in taken:
            try:
                returned_synchronously(handler(stored.event))
            except Exception as error:
                self.record(stored, error, claimed_with)
            else:
                self.record(stored, None, claimed_with)
        return len(taken)

    def replay(self, index: int) -> bool:
        record = replayed(self.policy, self.events[index].record, self._now())
        if record is None:
            return False
        self.events[index].record = record
        return True

    def purge(self) -> int:
        now, before = self._now(), len(self.events)
        self.events = [stored for stored in self.events if not purgeable(stored.record, now)]
        return before - len(self.events)


__all__ = [
    "RECORD_VERSION", "AnyInbox", "AsyncInbox", "Inbox", "InboxPolicy", "MemoryInbox", "Record", "StoredEvent",
    "aaccept", "accept",
    "check_inbox", "claimed", "failed", "new_record", "purgeable", "replayed", "retried_now", "succeeded",
]
