"""The inbox on Django's database: accept fast, process later.

    # myapp/hooks.py
    from django.conf import settings
    from telhook.django import webhook
    from telhook.django.inbox import DjangoInbox

    inbox = DjangoInbox()  # the telhook_inbox_event table ("telhook.django" in INSTALLED_APPS)

    @webhook("lisoloo", credentials=settings.TELHOOK["lisoloo"], inbox=inbox)
    def lisoloo_hook(event):  # run later by `manage.py telhook_worker` (or Celery), not by the request
        Message.objects.create(event_id=event["id"], kind=event["type"])

    # urls.py: path("hooks/lisoloo", hooks.lisoloo_hook)

With ``inbox=``, ``@webhook`` turns ``handler(event)`` into a view (sync; ``async def`` handler:
an async view) that verifies, normalizes and **stores** the event — the event row and its dedupe
claim (``telhook_dedupe_key``, for the provider's dedupe window) in one transaction — and answers
200 ``queued`` (200 ``duplicate`` for a redelivery, 503 when the database fails: the provider
retries). It registers the handler for the provider with the inbox (``inbox.handler(provider)``
does that alone); ``provider=None`` registers it for every provider.

A worker (``manage.py telhook_worker``, the Celery tasks of ``telhook.django.celery``, or
:meth:`DjangoInbox.work`) takes due rows (``run_at <= now``) with ``SELECT … FOR UPDATE SKIP
LOCKED`` and for each:

1. commits the claim (the core's ``claimed`` record: attempts + 1, a lease of ``lease_secs``)
   in its own short transaction;
2. runs the handler and writes the ``succeeded`` record **in one transaction with the handler's
   writes** on the inbox's database: they commit together or not at all (exactly once in effect).
   The done mark is a conditional update on the claimed record: if the lease ran out and another
   worker took the event, nothing of this attempt commits;
3. when the handler raises, its writes are rolled back and the ``failed`` record (the error's
   type and a bounded message; due again after the backoff, or dead after ``max_attempts``) is
   written in a new transaction.

A worker killed mid-handler commits nothing: its event is due again when the lease ends, and the
next claim counts the lost attempt. Set ``lease_secs`` above your slowest handler. Every rule
(which state, when due, backoff, dead, replay, retention) is the core's (``telhook.inbox``): this
module stores the records it returns.

SQLite has no ``SKIP LOCKED``: workers take rows by conditional update (correct, never twice)
and SQLite runs one write transaction at a time — use one worker process there. PostgreSQL and
MySQL 8 take rows with ``SKIP LOCKED``, so many workers never wait on each other.

Observability: one log line per attempt on the ``telhook.inbox`` logger with ``extra`` fields
(``telhook_provider``, ``telhook_type``, ``telhook_state``, ``telhook_attempts``,
``telhook_outcome``, ``telhook_inbox_id``; never the event's content), and the signal
:data:`inbox_event_processed` (``provider``, ``type``, ``outcome``, ``state``, ``attempts``)
sent after each attempt's commit: connect a Prometheus or OpenTelemetry counter to it.
Outcomes: ``succeeded``, ``failed`` (retried later), ``dead``, ``lease_lost``.

Policy: ``DjangoInbox(policy=InboxPolicy(...))``, else ``settings.TELHOOK_INBOX`` (a dict of
``max_attempts``, ``lease_secs``, ``backoff_secs``, ``max_backoff_secs``, ``retention_secs``),
else the core's defaults (8 attempts, 300 s lease, 30 s backoff doubling up to 1 h, done events
kept 7 days — ``manage.py telhook_worker`` purges them after that; dead events are kept until
replayed or deleted).
"""

from __future__ import annotations

import functools
import inspect
import logging
import time
from typing import TYPE_CHECKING, Any, Callable, Dict, Iterable, List, Optional, Tuple, cast

from django.dispatch import Signal

from ..inbox import (
    RECORD_VERSION, Enqueued, InboxPolicy, Record, claimed, failed, new_record, purgeable, replayed, retried_now,
    succeeded,
)
from .._receive import returned_synchronously
from ..stores import DONE, DjangoDatabaseStore, storage_key
from ..types import NormalizedEvent

if TYPE_CHECKING:
    from .models import InboxEvent

logger = logging.getLogger("telhook.inbox")

Handler = Callable[[NormalizedEvent], Any]
# Called after the commit of a write that makes an event due at run_at: (row id, run_at).
Scheduler = Callable[[int, int], None]

#: Sent after each processing attempt's commit (and when a claim finds an event out of
#: attempts): ``provider``, ``type``, ``outcome`` ("succeeded" | "failed" | "dead" |
#: "lease_lost"), ``state`` (the event's state now), ``attempts``, ``inbox_id``.
inbox_event_processed = Signal()

RECORD_FIELDS = ("state", "attempts", "run_at", "last_error_code", "last_error_message", "created_at", "updated_at",
                 "keep_until")
ANY_PROVIDER = "*"

_REGISTRY: Dict[str, List["DjangoInbox"]] = {}
# Schedulers of every inbox of a database alias (telhook.django.celery.install).
SCHEDULERS: Dict[str, List[Scheduler]] = {}


class InboxBusy(Exception):
    """Kept for code that catches it: ``enqueue`` now answers ``"in_progress"`` when another
    delivery of the event is being stored (the request is answered 503 with Retry-After)."""


class NoHandler(LookupError):
    """No handler is registered for the event's provider in this process."""


class _LeaseLost(Exception):
    pass


def record_of(row: "InboxEvent") -> Record:
    return cast(Record, {name: getattr(row, name) for name in RECORD_FIELDS})


class DjangoInbox:
    """The inbox on the database ``using`` (see the module docstring)."""

    def __init__(self, using: str = "default", *, policy: Optional[InboxPolicy] = None,
                 clock: Callable[[], float] = time.time) -> None:
        if not isinstance(using, str):
            raise TypeError("using must be a database alias (str)")
        if policy is not None and not isinstance(policy, InboxPolicy):
            raise TypeError("policy must be a telhook.inbox.InboxPolicy")
        from .. import _check_clock

        _check_clock(clock)  # milliseconds would make a 24 h dedupe window 86 s
        self.using = using
        self._policy = policy
        self.clock = clock
        self.handlers: Dict[str, Handler] = {}
        # Called on commit when an event becomes due (stored, failed, replayed): Celery's hook.
        self.schedulers: List[Scheduler] = []
        self._keys = DjangoDatabaseStore(using, clock)
        _REGISTRY.setdefault(using, []).append(self)

    def __repr__(self) -> str:
        return f"DjangoInbox(using={self.using!r}, handlers={sorted(self.handlers)})"

    @property
    def policy(self) -> InboxPolicy:
        if self._policy is None:
            from django.conf import settings

            self._policy = InboxPolicy(**getattr(settings, "TELHOOK_INBOX", {}))
        return self._policy

    def _now(self) -> int:
        return int(self.clock())

    def _rows(self) -> Any:
        from .models import InboxEvent

        return InboxEvent.objects.using(self.using)

    # ------------------------------------------------------------------ handlers

    def handler(self, provider: Optional[str]) -> Callable[[Handler], Handler]:
        """Registers ``handler(event)`` (sync or ``async def``) for ``provider``'s events (None:
        every provider without its own)."""
        name = ANY_PROVIDER if provider is None else provider

        def register(function: Handler) -> Handler:
            if not callable(function):
                raise TypeError("an inbox handler is a callable: handler(event)")
            known = self.handlers.get(name)
            if known is not None and _origin(known) != _origin(function):
                from django.core.exceptions import ImproperlyConfigured

                raise ImproperlyConfigured(f"the inbox has a handler for {name!r} already: {_origin(known)}")
            self.handlers[name] = function
            return function

        return register

    def handler_for(self, provider: str) -> Handler:
        found = self.handlers.get(provider) or self.handlers.get(ANY_PROVIDER)
        if found is None:
            raise NoHandler(f"no inbox handler for provider {provider!r} in this process")
        return found

    def providers(self) -> Optional[List[str]]:
        """The providers this process can handle (None: all of them)."""
        return None if ANY_PROVIDER in self.handlers else sorted(self.handlers)

    # ------------------------------------------------------------------ the request path

    def enqueue(self, key: str, event: NormalizedEvent, dedupe_ttl_secs: int) -> Enqueued:
        """Stores the event and claims its key for ``dedupe_ttl_secs``, in one transaction:
        "new", or "duplicate" (the key is claimed: nothing written)."""
        import uuid

        from django.db import transaction

        with transaction.atomic(using=self.using):
            token = uuid.uuid4().hex
            state = self._keys.claim(key, token, dedupe_ttl_secs)
            if state == DONE:
                return "duplicate"
            if state != "new":
                # Another delivery's transaction holds the key: a claim in progress (503 with
                # Retry-After, told at info), not a store failure.
                return "in_progress"
            self._keys.complete(key, token, dedupe_ttl_secs)
            record = new_record(self._now())
            # The key as the dedupe table stores it: an event id longer than the column, hashed.
            row = self._rows().create(key=storage_key(key), provider=event["provider"], type=event["type"],
                                      event=event, **record)
            self._schedule_on_commit(row.pk, record)
        return "new"

    def _schedule_on_commit(self, row_id: int, record: Record) -> None:
        from django.db import transaction

        run_at = record["run_at"]
        schedulers = self._schedulers()
        if run_at is None or not schedulers:
            return
        for scheduler in schedulers:
            transaction.on_commit(functools.partial(_call_scheduler, scheduler, row_id, run_at), using=self.using)

    def _schedulers(self) -> List[Scheduler]:
        return [*self.schedulers, *SCHEDULERS.get(self.using, ())]

    # ------------------------------------------------------------------ the worker steps

    def _write_lock_first(self) -> None:
        """On SQLite, takes the database's write lock as the transaction's first statement.
        Django begins SQLite transactions DEFERRED: one that reads first (the claim's scan, a
        handler's own query) must later upgrade to the write lock, and SQLite refuses that
        upgrade at once ("database is locked", no busy wait) while a webhook is writing. The
        done mark then failed and the handler ran again. A first write waits its turn instead.
        (Django 5.1+ can do this for every transaction: ``"OPTIONS": {"transaction_mode":
        "IMMEDIATE"}``.)"""
        from django.db import connections

        if connections[self.using].vendor == "sqlite":
            self._rows().filter(pk=-1).update(updated_at=0)  # matches no row; takes the lock

    def _write(self, row_id: int, old: Record, new: Record) -> bool:
        """Writes ``new`` over ``old`` if the row still holds ``old``."""
        version = {name: old[name] for name in RECORD_VERSION}  # type: ignore[literal-required]
        return bool(self._rows().filter(pk=row_id, **version).update(**new))

    def claim(self, row_id: Optional[int] = None) -> Optional[Tuple["InboxEvent", Record]]:
        """Takes one due event (``row_id``: that one only, if due) and commits its claim;
        ``None`` when nothing is due. An event out of attempts is marked dead on the way."""
        from django.db import connections, transaction

        skip_locked = connections[self.using].features.has_select_for_update_skip_locked
        providers = self.providers()
        while True:
            dead: List[Tuple["InboxEvent", Record]] = []
            taken: Optional[Tuple["InboxEvent", Record]] = None
            with transaction.atomic(using=self.using):
                self._write_lock_first()
                now = self._now()
                query = self._rows().filter(run_at__lte=now)
                if row_id is not None:
                    query = query.filter(pk=row_id)
                if providers is not None:
                    query = query.filter(provider__in=providers)
                if skip_locked:  # PostgreSQL, MySQL 8, Oracle: rows other workers hold are passed over
                    query = query.select_for_update(skip_locked=True)
                # Without SKIP LOCKED (SQLite), the conditional write below decides who takes a row.
                candidates = list(query.order_by("run_at", "id")[: 1 if skip_locked else 8])
                if not candidates:
                    return None
                wrote = False
                for row in candidates:
                    record = record_of(row)
                    step = claimed(self.policy, record, now)
                    if step is None or not self._write(row.pk, record, step):
                        continue  # another worker took it first (SQLite)
                    wrote = True
                    _apply(row, step)
                    if step["state"] == "processing":
                        taken = (row, step)
                        break
                    dead.append((row, step))  # its last worker died with no attempts left
            for row, step in dead:
                self._report(row, step, "dead", None)
            if taken is not None:
                return taken
            if not wrote or row_id is not None:
                return None  # lost every race (the caller polls again) or the one row is dead

    def handle(self, row: "InboxEvent", record: Record) -> str:
        """Runs a claimed event's handler and records how it ended (see the module docstring);
        returns the outcome."""
        from django.db import transaction

        try:
            handler = self.handler_for(row.provider)
            with transaction.atomic(using=self.using):
                self._write_lock_first()
                _call(handler, cast(NormalizedEvent, row.event))
                done = succeeded(self.policy, record, self._now())
                if done is None or not self._write(row.pk, record, done):
                    raise _LeaseLost()
        except _LeaseLost:
            self._report(row, record, "lease_lost", None)
            return "lease_lost"
        except Exception as error:  # the handler's writes are rolled back; the failure is recorded
            with transaction.atomic(using=self.using):
                after = failed(self.policy, record, error, self._now())
                if after is None or not self._write(row.pk, record, after):
                    after = None
                elif after["state"] == "failed":
                    self._schedule_on_commit(row.pk, after)
            if after is None:
                self._report(row, record, "lease_lost", error)
                return "lease_lost"
            outcome = "dead" if after["state"] == "dead" else "failed"
            _apply(row, after)
            self._report(row, after, outcome, error)
            return outcome
        _apply(row, done)
        self._report(row, done, "succeeded", None)
        return "succeeded"

    def process(self, row_id: Optional[int] = None) -> Optional[str]:
        """Claims one due event (``row_id``: that one) and handles it; its outcome, or None
        when nothing was due."""
        taken = self.claim(row_id)
        if taken is None:
            return None
        return self.handle(*taken)

    def waiting_until(self, row_id: int) -> Optional[int]:
        """When the row becomes due by this process's clock (its ``run_at``), if that is still
        ahead; None when it is due now, done, dead or gone."""
        run_at = self._rows().filter(pk=row_id).values_list("run_at", flat=True).first()
        return run_at if run_at is not None and run_at > self._now() else None

    def work(self, limit: Optional[int] = None) -> int:
        """Processes due events until none is due (or ``limit`` of them); how many ran."""
        count = 0
        while limit is None or count < limit:
            if self.process() is None:
                break
            count += 1
        return count

    def _report(self, row: "InboxEvent", record: Record, outcome: str, error: Optional[BaseException]) -> None:
        fields = {"telhook_provider": row.provider, "telhook_type": row.type, "telhook_state": record["state"],
                  "telhook_attempts": record["attempts"], "telhook_outcome": outcome, "telhook_inbox_id": row.pk}
        level = {"succeeded": logging.INFO, "failed": logging.WARNING}.get(outcome, logging.ERROR)
        if logger.isEnabledFor(level):
            logger.log(
                level, "telhook inbox %s: id=%s provider=%s type=%s state=%s attempts=%s%s",
                outcome, row.pk, row.provider, row.type, record["state"], record["attempts"],
                f" error={record['last_error_code']}" if outcome in ("failed", "dead") else "",
                extra=fields,
                exc_info=(type(error), error, error.__traceback__) if error is not None and outcome != "lease_lost" else None,
            )
        try:
            inbox_event_processed.send(sender=DjangoInbox, provider=row.provider, type=row.type, outcome=outcome,
                                       state=record["state"], attempts=record["attempts"], inbox_id=row.pk)
        except Exception:  # a failing counter must not stop the worker
            logger.exception("telhook: an inbox_event_processed receiver failed")

    # ------------------------------------------------------------------ operators

    def replay(self, ids: Iterable[int]) -> Tuple[int, int]:
        """Makes events pending again with a fresh set of attempts (the core's ``replayed``);
        returns (replayed, skipped: held by a worker right now)."""
        from django.db import transaction

        done = skipped = 0
        for row_id in ids:
            with transaction.atomic(using=self.using):
                row = self._rows().filter(pk=row_id).first()
                if row is None:
                    continue
                record = record_of(row)
                after = replayed(self.policy, record, self._now())
                if after is None or not self._write(row.pk, record, after):
                    skipped += 1
                    continue
                self._schedule_on_commit(row.pk, after)
                done += 1
        return done, skipped

    def retry_now(self, ids: Iterable[int]) -> int:
        """Makes waiting events (pending, or failed and backing off) due now, keeping their
        attempt count; returns how many. Done and dead events are replayed instead."""
        from django.db import transaction

        now, count = self._now(), 0
        for row_id in ids:
            with transaction.atomic(using=self.using):
                row = self._rows().filter(pk=row_id).first()
                if row is None:
                    continue
                record = record_of(row)
                after = retried_now(self.policy, record, now)
                if after is None or after["run_at"] == record["run_at"] or not self._write(row.pk, record, after):
                    continue
                self._schedule_on_commit(row.pk, after)
                count += 1
        return count

    def purge(self, batch: int = 1000) -> int:
        """Deletes done events past their retention (the core's ``purgeable``); how many."""
        now, deleted = self._now(), 0
        while True:
            rows = list(self._rows().filter(state="done", keep_until__lte=now).order_by("id")[:batch])
            ids = [row.pk for row in rows if purgeable(record_of(row), now)]
            if not ids:
                return deleted
            count, _ = self._rows().filter(pk__in=ids).delete()
            deleted += int(count)


def _apply(row: "InboxEvent", record: Record) -> None:
    for name in RECORD_FIELDS:
        setattr(row, name, record[name])  # type: ignore[literal-required]


def _call(handler: Handler, event: NormalizedEvent) -> None:
    if inspect.iscoroutinefunction(handler):
        # In this thread: the handler's thread-sensitive ORM calls (sync_to_async) run here,
        # inside the transaction.
        from asgiref.sync import async_to_sync

        async_to_sync(handler)(event)
    else:
        returned_synchronously(handler(event))


def _call_scheduler(scheduler: Scheduler, row_id: int, run_at: int) -> None:
    try:
        scheduler(row_id, run_at)
    except Exception:  # the row is stored: telhook_worker or the sweep picks it up
        logger.exception("telhook: scheduling inbox event %s failed (a worker or the sweep will take it)", row_id)


def _origin(function: Callable[..., Any]) -> str:
    return f"{getattr(function, '__module__', '?')}.{getattr(function, '__qualname__', repr(function))}"


def registered_inbox(using: str = "default") -> DjangoInbox:
    """The DjangoInbox of database ``using`` built in this process (import your URLconf or the
    module defining it first); one with every handler when several were built."""
    found = _REGISTRY.get(using, [])
    if not found:
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured(f"no DjangoInbox(using={using!r}) was built: import the module that defines it")
    if len(found) == 1:
        return found[0]
    merged = DjangoInbox.__new__(DjangoInbox)
    merged.using, merged._policy, merged.clock = using, found[-1]._policy, found[-1].clock
    merged._keys, merged.handlers, merged.schedulers = found[-1]._keys, {}, []
    for inbox in found:
        for provider, function in inbox.handlers.items():
            merged.handler(None if provider == ANY_PROVIDER else provider)(function)
        merged.schedulers.extend(s for s in inbox.schedulers if s not in merged.schedulers)
    return merged


def load_inbox(using: str = "default", dotted: Optional[str] = None) -> DjangoInbox:
    """The inbox a worker runs: ``dotted`` ("myapp.hooks.inbox"), else the one built for
    ``using`` once the URLconf is imported (where ``@webhook(..., inbox=...)`` views live)."""
    if dotted:
        from django.utils.module_loading import import_string

        found = import_string(dotted)
        if not isinstance(found, DjangoInbox):
            raise TypeError(f"{dotted} is not a DjangoInbox")
        return found
    from django.urls import get_resolver

    get_resolver().url_patterns  # imports the URLconf and the views it names
    return registered_inbox(using)


# ------------------------------------------------------------------ views (telhook.django.webhook)


def inbox_view(receiver: Any, inbox: DjangoInbox, handler: Handler) -> Callable[..., Any]:
    """The view of ``@webhook(..., inbox=inbox)``: stores deliveries, answers at once."""
    from django.http import HttpRequest, HttpResponse

    from ..inbox import aaccept, accept
    from . import _request_parts

    def response_of(answer: Any) -> HttpResponse:
        return HttpResponse(answer.body, status=answer.status, headers=dict(answer.headers))

    if inspect.iscoroutinefunction(handler):
        from asgiref.sync import sync_to_async

        class Threaded:
            enqueue = staticmethod(sync_to_async(inbox.enqueue, thread_sensitive=True))

        @functools.wraps(handler)
        async def async_view(request: HttpRequest, *url_args: Any, **url_kwargs: Any) -> HttpResponse:
            method, url, headers, body = _request_parts(request)
            return response_of(await aaccept(receiver, method=method, url=url, headers=headers, body=body,
                                             inbox=Threaded()))

        async_view.csrf_exempt = True  # type: ignore[attr-defined]
        async_view.handler = handler  # type: ignore[attr-defined]
        return async_view

    # URL parameters (``hooks/<slug:tenant>/``) are taken and not kept: the handler runs later,
    # on the stored event alone (the view took the request alone, and Django's call with them
    # failed before telhook answered: every delivery lost, a review).
    @functools.wraps(handler)
    def view(request: HttpRequest, *url_args: Any, **url_kwargs: Any) -> HttpResponse:
        method, url, headers, body = _request_parts(request)
        return response_of(accept(receiver, method=method, url=url, headers=headers, body=body, inbox=inbox))

    view.csrf_exempt = True  # type: ignore[attr-defined]
    view.handler = handler  # type: ignore[attr-defined]
    return view


__all__ = ["DjangoInbox", "Handler", "InboxBusy", "NoHandler", "inbox_event_processed", "load_inbox",
           "registered_inbox"]
