"""The inbox on SQLAlchemy, for Flask, FastAPI and any Python app: events stored in your own
database (PostgreSQL, MySQL 8, SQLite), processed by workers that claim them with
``SELECT … FOR UPDATE SKIP LOCKED``.

Why a database and not Redis: the handler's writes and the "done" mark commit in one
transaction (the handler gets that transaction's connection), so an event is processed
exactly once in effect — Redis cannot enlist in your database's transaction. And the database
is already backed up and operated; the inbox adds two tables.

    from telhook.sqlalchemy import SqlInbox
    inbox = SqlInbox(create_engine(DATABASE_URL))
    inbox.create_tables()          # or include inbox.metadata in your Alembic migrations

    # the webhook: store and answer (telhook.flask.inbox_view / telhook.starlette.inbox_endpoint)
    # the worker:  python -m telhook.sqlalchemy worker myapp.hooks:inbox myapp.hooks:on_event
    def on_event(event, connection):   # connection: the transaction that marks it done
        connection.execute(insert(messages).values(...))

Rules (due, backoff, dead, replay, retention) are the core's (``telhook.inbox``); this module
only reads and writes rows.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import os
import signal
import sys
import threading
import time
import weakref
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple, cast

from sqlalchemy import (
    BigInteger, Column, ColumnElement, Connection, Engine, Index, Integer, MetaData, String, Table, Text, and_, delete, func, insert,
    select, update,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import DBAPIError, IntegrityError

from ._receive import refuse_async, returned_synchronously
from .inbox import RECORD_VERSION, Enqueued, InboxPolicy, Record, claimed, failed, new_record, replayed, succeeded
from .stores import column_key
from .types import NormalizedEvent

logger = logging.getLogger("telhook.inbox")
# The key columns' width; a longer event id is stored as its SHA-256 (telhook.stores.column_key).
KEY_COLUMN_CHARS = 255

Handler = Callable[[NormalizedEvent, Connection], object]
# Called once per processed attempt: (provider, event type, the event's new state). Wire it to
# Prometheus or OpenTelemetry counters.
OnOutcome = Callable[[str, str, str], None]
RECORD_COLUMNS = ("state", "attempts", "run_at", "last_error_code", "last_error_message", "created_at", "updated_at",
                  "keep_until")

# Every SqlInbox's engine, for the fork hook below.
_INBOXES: "weakref.WeakSet[SqlInbox]" = weakref.WeakSet()


def _forget_inherited_connections() -> None:
    # A forked child (gunicorn --preload, Celery prefork) inherits the pooled connections of the
    # engine the parent used (`create_tables()` at import leaves one): parent and children then
    # share one database socket and interleave their transactions. A reviewer's PostgreSQL run
    # had keys claimed with no event row (their redeliveries "duplicate": lost) and events
    # stored twice. SQLAlchemy's documented remedy: the child drops the pool without closing the
    # parent's connections.
    for inbox in list(_INBOXES):
        inbox.engine.dispose(close=False)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_inherited_connections)


def _tables(metadata: MetaData, prefix: str) -> Tuple[Table, Table]:
    keys = Table(
        f"{prefix}_key", metadata,
        # The event's idempotency key, claimed until expires_at (the provider's dedupe window).
        Column("key", String(KEY_COLUMN_CHARS), primary_key=True),
        Column("expires_at", BigInteger, nullable=False),
    )
    events = Table(
        prefix, metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("key", String(KEY_COLUMN_CHARS), nullable=False, index=True),
        Column("provider", String(32), nullable=False),
        Column("type", String(64), nullable=False),
        Column("event", Text, nullable=False),
        Column("state", String(16), nullable=False),
        Column("attempts", Integer, nullable=False),
        Column("run_at", BigInteger, nullable=True),
        Column("last_error_code", String(100), nullable=True),
        Column("last_error_message", Text, nullable=True),
        Column("created_at", BigInteger, nullable=False),
        Column("updated_at", BigInteger, nullable=False),
        Column("keep_until", BigInteger, nullable=True),
        Index(f"{prefix}_due", "run_at"),
        Index(f"{prefix}_listing", "provider", "type", "state"),
    )
    return keys, events


@dataclass
class Claimed:
    """An event a worker took: run the handler, then :meth:`SqlInbox.finish`."""

    id: int
    event: NormalizedEvent
    record: Record


class SqlInbox:
    """An inbox in ``engine``'s database: ``enqueue`` (the webhook's atomic step), and the
    worker's ``claim`` / ``finish`` / ``work`` / ``run``, ``replay``, ``purge``, ``backlog``.
    ``clock`` gives UNIX seconds (``time.time`` unless set)."""

    def __init__(
        self,
        engine: Engine,
        *,
        policy: Optional[InboxPolicy] = None,
        table_prefix: str = "telhook_inbox",
        clock: Callable[[], float] = time.time,
        on_outcome: Optional[OnOutcome] = None,
    ) -> None:
        if not isinstance(engine, Engine):
            raise TypeError("engine must be a sqlalchemy Engine (create_engine(url))")
        if policy is not None and not isinstance(policy, InboxPolicy):
            raise TypeError("policy must be a telhook.inbox.InboxPolicy")
        from . import _check_clock

        _check_clock(clock)  # milliseconds would make a 24 h dedupe window 86 s
        self.engine = engine
        self.policy = policy if policy is not None else InboxPolicy()
        self.metadata = MetaData()
        self.keys, self.events = _tables(self.metadata, table_prefix)
        self.clock = clock
        self.on_outcome = on_outcome
        # SKIP LOCKED where the database has it, so workers pass over rows another holds. Every
        # write is conditioned on the version it was computed from (`_write`): without row locks
        # (SQLite reads outside its write lock) two workers can read one due row, and only the
        # first's claim lands.
        self._skip_locked = engine.dialect.name in ("postgresql", "mysql", "mariadb", "oracle")
        self._upsert_returning = engine.dialect.name == "postgresql"
        _INBOXES.add(self)

    def _now(self) -> int:
        return int(self.clock())

    def create_tables(self) -> None:
        """Creates the inbox's tables where they are missing. Safe in several processes starting
        at once (the web app and its worker, each calling it at import as the README does):
        PostgreSQL refuses the second of two concurrent ``CREATE TABLE`` (a unique violation on
        ``pg_type``, or "already exists") after both found the table missing, and the worker
        died of it (a review); the check then runs again and finds the table there."""
        for attempt in range(3):
            try:
                self.metadata.create_all(self.engine)
                return
            except DBAPIError:
                if attempt == 2:
                    raise
                time.sleep(0.05 * (attempt + 1))

    # -------------------------------------------------------------- the webhook's step

    def enqueue(self, key: str, event: NormalizedEvent, dedupe_ttl_secs: int) -> Enqueued:
        """Stores the event and claims its key in one transaction, or writes nothing."""
        try:
            return self._enqueue(key, event, dedupe_ttl_secs)
        except DBAPIError as error:
            # The event is a parameter of the insert: its text (phone numbers, the message) must
            # not reach the log the 503 writes (a review found it there).
            error.hide_parameters = True
            # A pooled connection the database closed (a restart, a failover) fails on its first
            # use, and SQLAlchemy drops the pool's connections: the transaction, which wrote
            # nothing, runs again on a new one. Answered 503 instead, the event was lost for
            # Twilio and the DID reseller, which do not retry (a review restarted PostgreSQL
            # under gunicorn: each process's first delivery after it).
            if not error.connection_invalidated:
                raise
        try:
            return self._enqueue(key, event, dedupe_ttl_secs)
        except DBAPIError as error:
            error.hide_parameters = True
            raise

    def _enqueue(self, key: str, event: NormalizedEvent, dedupe_ttl_secs: int) -> Enqueued:
        # An event id is the provider's: one its column refuses would be a 503 on every delivery.
        key = column_key(key, KEY_COLUMN_CHARS)
        now = self._now()
        with self.engine.begin() as connection:
            if self._upsert_returning:
                # One round trip instead of four (savepoint, insert, release, update): the key is
                # inserted, or taken over when its window passed; no row back means a live one
                # holds it, and the transaction writes nothing.
                statement = postgresql.insert(self.keys).values(key=key, expires_at=now + dedupe_ttl_secs)
                claimed_key = connection.execute(statement.on_conflict_do_update(
                    index_elements=[self.keys.c.key], set_={"expires_at": statement.excluded.expires_at},
                    where=self.keys.c.expires_at <= now,
                ).returning(self.keys.c.key)).first()
                if claimed_key is None:
                    return "duplicate"
                self._insert_event(connection, key, event, now)
                return "new"
            # A key whose window passed is dropped first. That write also opens the transaction:
            # Python's sqlite3 driver begins one only before a data-changing statement, so the
            # savepoint below was the transaction itself, and its release committed the key
            # alone (an event insert that then failed left its key claimed: the retry answered
            # "duplicate", the event never stored).
            connection.execute(delete(self.keys).where(and_(self.keys.c.key == key, self.keys.c.expires_at <= now)))
            # With no expired key left, the insert conflicts only with a live one: a duplicate,
            # and nothing is written (the savepoint leaves the transaction usable).
            try:
                with connection.begin_nested():
                    connection.execute(insert(self.keys).values(key=key, expires_at=now + dedupe_ttl_secs))
            except IntegrityError:
                return "duplicate"
            self._insert_event(connection, key, event, now)
        return "new"

    def _insert_event(self, connection: Connection, key: str, event: NormalizedEvent, now: int) -> None:
        connection.execute(insert(self.events).values(
            key=key, provider=event["provider"], type=event["type"],
            event=json.dumps(event, separators=(",", ":")), **new_record(now),
        ))

    # -------------------------------------------------------------- the worker

    def claim(self, limit: int = 1) -> List[Claimed]:
        """Takes up to ``limit`` due events (committed: attempts + 1, leased); events out of
        attempts (their last worker died) are marked dead instead."""
        now = self._now()
        with self.engine.begin() as connection:
            query = select(self.events).where(self.events.c.run_at <= now).order_by(self.events.c.run_at).limit(limit)
            if self._skip_locked:
                query = query.with_for_update(skip_locked=True)
            taken = []
            for row in connection.execute(query).mappings().all():
                record = claimed(self.policy, _record(row), now)
                if record is None or not self._write(connection, row["id"], _record(row), record):
                    continue  # not due, or another worker took it first
                if record["state"] == "processing":
                    taken.append(Claimed(row["id"], cast(NormalizedEvent, json.loads(row["event"])), record))
                else:
                    self._outcome(row["provider"], row["type"], record, None)
        return taken

    def finish(self, claim: Claimed, handler: Handler) -> str:
        """Runs the handler in the transaction that records its outcome: its writes and the
        done mark commit together. A failure rolls its writes back and records the failure.
        Returns the event's new state (``lost`` when another worker took it over)."""
        try:
            with self.engine.connect() as connection:
                transaction = connection.begin()
                current = self._locked(connection, claim)
                if current is None:
                    transaction.rollback()
                    return "lost"
                try:
                    returned_synchronously(handler(claim.event, connection))
                except BaseException:
                    if transaction.is_active:
                        transaction.rollback()
                    raise
                if not transaction.is_active:
                    # The handler committed (or rolled back) the transaction itself: what it
                    # committed is in, so the event is done, marked in a transaction of its own.
                    # Failed instead, every attempt committed its writes again (a review: eight
                    # times, then dead). Between the two commits the event is at least once.
                    _warn_handler_ended_transaction()
                    # Statements it ran after its commit began a transaction: the mark joins it.
                    joined = connection.get_transaction() if connection.in_transaction() else None
                    transaction = joined if joined is not None else connection.begin()
                    current = self._locked(connection, claim)
                    if current is None:
                        transaction.rollback()
                        return "lost"
                done = succeeded(self.policy, current, self._now())
                # The row may have been taken over since `_locked` read it (SQLite has no row
                # lock): then nothing is written and the handler's writes roll back.
                if done is None or not self._write(connection, claim.id, current, done):
                    transaction.rollback()
                    raise _LeaseLost()
                transaction.commit()
            self._outcome(claim.event["provider"], claim.event["type"], done, None)
            return "done"
        except _LeaseLost:
            return "lost"
        except Exception as error:  # the handler's (or its commit's) failure: recorded below
            return self._failed(claim, error)

    def _failed(self, claim: Claimed, error: Exception) -> str:
        if isinstance(error, DBAPIError):
            # A statement of the handler's (or its commit) failed: its parameters are the
            # event's values (phone numbers, the message); its text goes to the row and the log.
            error.hide_parameters = True
        try:
            with self.engine.begin() as connection:
                current = self._locked(connection, claim)
                record = failed(self.policy, current, error, self._now()) if current is not None else None
                if current is None or record is None or not self._write(connection, claim.id, current, record):
                    return "lost"
        except DBAPIError as own:
            own.hide_parameters = True  # the record's columns: the handler's error text among them
            raise
        self._outcome(claim.event["provider"], claim.event["type"], record, error)
        return record["state"]

    def _write(self, connection: Connection, row_id: int, old: Record, new: Record) -> bool:
        """Writes ``new`` over ``old`` if the row still holds ``old`` (its version columns)."""
        version = [self.events.c[name] == old[name] for name in RECORD_VERSION]  # type: ignore[literal-required]
        statement = update(self.events).where(and_(self.events.c.id == row_id, *version)).values(**new)
        return bool(connection.execute(statement).rowcount)

    def _locked(self, connection: Connection, claim: Claimed) -> Optional[Record]:
        """The claimed row, locked, if this worker still holds it (same attempt, processing)."""
        row = connection.execute(
            select(self.events).where(self.events.c.id == claim.id).with_for_update()
        ).mappings().first()
        if row is None or row["state"] != "processing" or row["attempts"] != claim.record["attempts"]:
            return None
        return _record(row)

    def work(self, handler: Handler, limit: int = 100, stop: Optional[Callable[[], bool]] = None) -> int:
        """Processes the due events one at a time (up to ``limit``, and none once ``stop()``
        is true); returns how many ran."""
        refuse_async(handler)
        ran = 0
        while ran < limit and not (stop is not None and stop()):
            taken = self.claim(1)
            if not taken:
                break
            self.finish(taken[0], handler)
            ran += 1
        return ran

    def run(
        self,
        handler: Handler,
        *,
        poll_secs: float = 1.0,
        concurrency: int = 1,
        stop: Optional[Callable[[], bool]] = None,
    ) -> None:
        """The worker loop: ``concurrency`` threads process due events (each holds one
        connection while its handler runs), sleeping ``poll_secs`` when none are due; done
        events past their retention are purged hourly. SIGTERM/SIGINT end it after the events
        in hand. Give the engine a pool of at least ``concurrency`` connections."""
        if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
            raise ValueError("concurrency must be an int of at least 1")
        refuse_async(handler)
        stopping = threading.Event()

        def request_stop(signum: int, frame: object) -> None:
            stopping.set()

        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGTERM, signal.SIGINT):
                signal.signal(signum, request_stop)

        def stopped() -> bool:
            return stopping.is_set() or (stop is not None and stop())

        def loop() -> None:
            while not stopped():
                try:
                    # One event at a time, checking for a stop between them: after SIGTERM the
                    # worker ends with the event in hand, not 50 later (a container's grace
                    # period runs out mid-handler, and the attempt is lost to its lease).
                    ran = self.work(handler, limit=50, stop=stopped)
                except Exception:  # the database is away: keep trying, the events stay due
                    logger.exception("telhook inbox: the worker could not reach the database")
                    ran = 0
                if ran == 0:
                    stopping.wait(poll_secs)

        threads = [threading.Thread(target=loop, name=f"telhook-worker-{n}", daemon=True) for n in range(concurrency)]
        for thread in threads:
            thread.start()
        while any(thread.is_alive() for thread in threads):
            if stopping.wait(min(poll_secs, 60)):
                break
            if stop is None or not stop():
                try:
                    self.purge_now_and_then()
                except Exception:  # the database is away (or locked): the workers keep trying
                    logger.exception("telhook inbox: the worker could not purge old events")
        for thread in threads:
            thread.join()

    _last_purge = 0.0

    def purge_now_and_then(self) -> None:
        if time.monotonic() - self._last_purge > 3600:
            self._last_purge = time.monotonic()
            self.purge()

    def _outcome(self, provider: str, type_: str, record: Record, error: Optional[BaseException]) -> None:
        level = logging.ERROR if record["state"] == "dead" else logging.WARNING if error else logging.INFO
        logger.log(level, "telhook inbox: provider=%s type=%s state=%s attempts=%s%s", provider, type_,
                   record["state"], record["attempts"], f" error={record['last_error_code']}" if error else "",
                   extra={"telhook_provider": provider, "telhook_type": type_, "telhook_state": record["state"],
                          "telhook_attempts": record["attempts"]})
        if self.on_outcome is not None:
            self.on_outcome(provider, type_, record["state"])

    # -------------------------------------------------------------- operators

    def replay(
        self,
        *,
        ids: Optional[Sequence[int]] = None,
        provider: Optional[str] = None,
        state: Optional[str] = None,
        since: Optional[int] = None,
        until: Optional[int] = None,
    ) -> int:
        """Makes the selected events (by id, provider, state, stored between since and until,
        UNIX seconds) pending again with fresh attempts; events a worker holds are skipped.
        Returns how many will run again."""
        conditions: List[ColumnElement[bool]] = []
        if ids is not None:
            conditions.append(self.events.c.id.in_(list(ids)))
        if provider is not None:
            conditions.append(self.events.c.provider == provider)
        if state is not None:
            conditions.append(self.events.c.state == state)
        if since is not None:
            conditions.append(self.events.c.created_at >= since)
        if until is not None:
            conditions.append(self.events.c.created_at < until)
        if not conditions:
            raise ValueError("replay needs a selection: ids, provider, state, since or until")
        now, count = self._now(), 0
        with self.engine.begin() as connection:
            query = select(self.events).where(and_(*conditions)).with_for_update()
            for row in connection.execute(query).mappings().all():
                record = replayed(self.policy, _record(row), now)
                if record is not None and self._write(connection, row["id"], _record(row), record):
                    count += 1
        return count

    def purge(self) -> int:
        """Deletes done events past their retention (dead ones stay until replayed or deleted)
        and the keys whose dedupe window has passed; returns how many events it deleted."""
        now = self._now()
        with self.engine.begin() as connection:
            # An expired key decides nothing (the same key arriving now is a new event), and
            # was otherwise deleted only when that key arrived again: the table only grew.
            connection.execute(delete(self.keys).where(self.keys.c.expires_at <= now))
            return int(connection.execute(delete(self.events).where(and_(
                self.events.c.state == "done", self.events.c.keep_until <= now))).rowcount)

    def backlog(self) -> Dict[Tuple[str, str], int]:
        """How many events per (provider, state): the operator's view of the backlog."""
        with self.engine.connect() as connection:
            rows = connection.execute(select(self.events.c.provider, self.events.c.state, func.count())
                                      .group_by(self.events.c.provider, self.events.c.state)).all()
        return {(provider, state): int(count) for provider, state, count in rows}

    def record_of(self, event_id: int) -> Optional[Record]:
        with self.engine.connect() as connection:
            row = connection.execute(select(self.events).where(self.events.c.id == event_id)).mappings().first()
        return _record(row) if row is not None else None


_warned_handler_ended_transaction = False


def _warn_handler_ended_transaction() -> None:
    global _warned_handler_ended_transaction
    if not _warned_handler_ended_transaction:
        _warned_handler_ended_transaction = True
        logger.warning(
            "telhook inbox: the handler committed or rolled back the connection's transaction; the event is marked "
            "done in a transaction of its own, so its writes and the done mark no longer commit together (a worker "
            "that dies between them runs it again). Leave the commit to the inbox; an ORM Session(bind=connection) "
            "joins the transaction.")


class _LeaseLost(Exception):
    """Internal: the event was taken over while its handler ran; its writes are rolled back."""


def _record(row: Any) -> Record:
    return cast(Record, {name: row[name] for name in RECORD_COLUMNS})


# ------------------------------------------------------------------ the command line


def _load(target: str) -> Any:
    module, _, name = target.partition(":")
    if not name:
        raise SystemExit(f"expected module:attribute, got {target!r}")
    value: Any = importlib.import_module(module)
    for part in name.split("."):
        value = getattr(value, part)
    return value


def _seconds(text: str) -> int:
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return int(parsed.timestamp())


def main(argv: Optional[Iterable[str]] = None) -> int:
    """``python -m telhook.sqlalchemy worker INBOX HANDLER`` runs a worker;
    ``python -m telhook.sqlalchemy replay INBOX [--id N …] [--provider P] [--state dead]
    [--since ISO] [--until ISO]`` re-delivers events into the handler (through the worker, not
    through the provider); ``backlog INBOX`` prints the counts per provider and state."""
    parser = argparse.ArgumentParser(prog="python -m telhook.sqlalchemy")
    commands = parser.add_subparsers(dest="command", required=True)
    worker = commands.add_parser("worker", help="process due events until stopped")
    worker.add_argument("inbox", help="module:attribute of the SqlInbox")
    worker.add_argument("handler", help="module:attribute of handler(event, connection)")
    worker.add_argument("--once", action="store_true", help="process what is due, then exit")
    worker.add_argument("--poll-secs", type=float, default=1.0)
    worker.add_argument("--concurrency", type=int, default=1, help="handler threads (default 1)")
    replay = commands.add_parser("replay", help="make selected events pending again")
    replay.add_argument("inbox")
    replay.add_argument("--id", type=int, action="append", dest="ids")
    replay.add_argument("--provider")
    replay.add_argument("--state", choices=["pending", "processing", "done", "failed", "dead"])
    replay.add_argument("--since", type=_seconds, help="stored at or after (ISO 8601)")
    replay.add_argument("--until", type=_seconds, help="stored before (ISO 8601)")
    backlog = commands.add_parser("backlog", help="events per provider and state")
    backlog.add_argument("inbox")
    args = parser.parse_args(list(argv) if argv is not None else None)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    inbox = _load(args.inbox)
    if not isinstance(inbox, SqlInbox):
        raise SystemExit(f"{args.inbox} is not a telhook.sqlalchemy.SqlInbox")
    if args.command == "worker":
        handler = _load(args.handler)
        if args.once:
            # Ctrl-C or SIGTERM ends it after the event in hand, as `run` does: raised mid-handler,
            # it left the event processing until its lease ran out, its attempt spent (a review).
            stopping = threading.Event()
            signals = (signal.SIGTERM, signal.SIGINT) if threading.current_thread() is threading.main_thread() else ()
            before = {signum: signal.signal(signum, lambda _signum, _frame: stopping.set()) for signum in signals}
            try:
                print(f"processed {inbox.work(handler, limit=sys.maxsize, stop=stopping.is_set)}")
            finally:
                for signum, handler_before in before.items():
                    signal.signal(signum, handler_before)
        else:
            inbox.run(handler, poll_secs=args.poll_secs, concurrency=args.concurrency)
    elif args.command == "replay":
        if not (args.ids or args.provider or args.state or args.since is not None or args.until is not None):
            replay.error("give a selection: --id, --provider, --state, --since or --until")
        count = inbox.replay(ids=args.ids, provider=args.provider, state=args.state, since=args.since,
                             until=args.until)
        print(f"replayed {count}")
    else:
        for (provider, state), count in sorted(inbox.backlog().items()):
            print(f"{provider}\t{state}\t{count}")
    return 0


if __name__ == "__main__":
    # Run as `python -m`, this file is `__main__`: its SqlInbox is not the class the user's
    # module imported. The command line runs from the imported module.
    from telhook.sqlalchemy import main as _main

    sys.exit(_main())


__all__ = ["Claimed", "Handler", "OnOutcome", "SqlInbox", "main"]
