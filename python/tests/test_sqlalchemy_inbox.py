"""The SQLAlchemy inbox (telhook.sqlalchemy) on SQLite and on a real PostgreSQL started by the
test setup: the inbox vectors through the real tables, then worker processes — several at once
with failing attempts, one killed with SIGKILL mid-handler, a dead event replayed by the CLI."""

from __future__ import annotations

import json
import os
import pathlib
import signal
import subprocess
import sys
import textwrap
import time
from typing import Any, Dict, Iterator, List, cast

import psycopg
import pytest
from sqlalchemy import Column, Connection, Integer, MetaData, String, Table, create_engine, func, insert, select

import telhook
from telhook.inbox import InboxPolicy, accept
from telhook.sqlalchemy import SqlInbox, main

from vector_reader import INBOX_DIR, answered, request_of

PATHS = sorted(INBOX_DIR.glob("*.json"))
HERE = pathlib.Path(__file__).resolve().parent


class Clock:
    def __init__(self, now: int) -> None:
        self.now = now

    def __call__(self) -> float:
        return float(self.now)


@pytest.fixture(scope="module")
def pg_url(postgres_port: int) -> str:
    with psycopg.connect(f"host=127.0.0.1 port={postgres_port} user=telhook dbname=postgres", autocommit=True) as c:
        c.execute("DROP DATABASE IF EXISTS telhook_sa")
        c.execute("CREATE DATABASE telhook_sa")
    return f"postgresql+psycopg://telhook@127.0.0.1:{postgres_port}/telhook_sa"


@pytest.fixture(params=["sqlite", "postgresql"])
def engine_url(request: Any, tmp_path: pathlib.Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'inbox.db'}"
    url: str = request.getfixturevalue("pg_url")
    return url


class Failing(Exception):
    pass


def run_vector(url: str, vector: Dict[str, Any], prefix: str) -> None:
    clock = Clock(vector["now"])
    engine = create_engine(url)
    inbox = SqlInbox(engine, policy=InboxPolicy(**vector["policy"]), clock=clock, table_prefix=prefix)
    inbox.metadata.drop_all(engine)
    inbox.create_tables()
    receiver = telhook.Receiver(vector["provider"], vector["credentials"], clock=clock, **(vector.get("options") or {}))
    calls = 0
    next_store: List[Any] = [None]  # the next enqueue fails, or finds the event being stored
    real_enqueue = inbox.enqueue

    def enqueue(key: str, event: Any, ttl: int) -> Any:
        store, next_store[0] = next_store[0], None
        if store == "fails":
            raise ConnectionError("the database is down")
        if store == "in_progress":
            return "in_progress"
        return real_enqueue(key, event, ttl)

    inbox.enqueue = enqueue  # type: ignore[method-assign]
    for index, step in enumerate(vector["steps"]):
        where = f"step {index}"
        if "deliver" in step:
            next_store[0] = step.get("store")
            request = request_of(step["deliver"])
            response = accept(receiver, method=request.method, url=request.url, headers=request.headers,
                              body=request.body, inbox=inbox)
            assert answered(response.status, response.headers, response.body, step["expect"]) == step["expect"], where
            continue
        if "advance_secs" in step:
            clock.now += step["advance_secs"]
            continue
        if "work" in step:
            taken = inbox.claim(limit=100)
            assert len(taken) == len(step["work"]), where
            for claim, outcome in zip(taken, step["work"]):
                calls += 1
                if outcome == "die":
                    continue
                def handler(event: Any, connection: Connection, outcome: str = outcome) -> None:
                    if outcome == "raise":
                        raise Failing("the handler raised")
                inbox.finish(claim, handler)
        elif "replay" in step:
            ids = [row[0] for row in _ids(inbox)]
            assert inbox.replay(ids=[ids[step["replay"]]]) == 1, where
        elif "purge" in step:
            inbox.purge()
        else:
            raise AssertionError(where)
        assert [state for _, state in _ids(inbox)] == step["expect_states"], where
    assert calls == vector["expect_handler_calls"]
    engine.dispose()


def test_a_key_is_claimed_once_per_window_then_taken_over(engine_url: str) -> None:
    clock = Clock(1_769_000_000)
    inbox = SqlInbox(create_engine(engine_url), clock=clock, table_prefix="window")
    inbox.metadata.drop_all(inbox.engine)
    inbox.create_tables()
    event: Any = {"provider": "lisoloo", "type": "message.status", "id": "lisoloo:w"}
    assert inbox.enqueue("lisoloo:w", event, 60) == "new"
    clock.now += 59
    assert inbox.enqueue("lisoloo:w", event, 60) == "duplicate"
    clock.now += 1  # the window passed: the provider's later redelivery is a new event
    assert inbox.enqueue("lisoloo:w", event, 60) == "new"
    assert inbox.enqueue("lisoloo:w", event, 60) == "duplicate"
    assert inbox.backlog() == {("lisoloo", "pending"): 2}
    inbox.engine.dispose()


def test_an_event_id_longer_than_the_key_column_is_stored_and_deduped(engine_url: str) -> None:
    """Found by a reviewer on PostgreSQL: a key over 255 characters was refused by the column,
    a 503 on every delivery of that event."""
    inbox = SqlInbox(create_engine(engine_url), clock=Clock(1_769_000_000), table_prefix="longkey")
    inbox.metadata.drop_all(inbox.engine)
    inbox.create_tables()
    key = "lisoloo:" + "x" * 300
    event: Any = {"provider": "lisoloo", "type": "message.status", "id": key}
    assert inbox.enqueue(key, event, 60) == "new"
    assert inbox.enqueue(key, event, 60) == "duplicate"
    claims = inbox.claim()
    assert [claim.event["id"] for claim in claims] == [key]
    inbox.engine.dispose()


def test_an_event_id_holding_nul_is_stored_and_deduped(engine_url: str) -> None:
    """Found by a reviewer on PostgreSQL, whose text refuses NUL: a verified event whose id held
    U+0000 was a 503 on every delivery (Lisoloo drops it after four)."""
    inbox = SqlInbox(create_engine(engine_url), clock=Clock(1_769_000_000), table_prefix="nulkey")
    inbox.metadata.drop_all(inbox.engine)
    inbox.create_tables()
    key = "lisoloo:e\x001"
    event: Any = {"provider": "lisoloo", "type": "message.status", "id": key}
    assert inbox.enqueue(key, event, 60) == "new"
    assert inbox.enqueue(key, event, 60) == "duplicate"
    assert [claim.event["id"] for claim in inbox.claim()] == [key]
    inbox.engine.dispose()


@pytest.mark.parametrize("after_commit", ["nothing", "another_write"])
def test_a_handler_that_commits_itself_runs_once_and_its_event_is_done(engine_url: str, after_commit: str) -> None:
    """Found by a reviewer: a handler that called ``connection.commit()`` (SQLAlchemy 2.0's
    "commit as you go") made the done mark fail, so every attempt committed its writes again:
    eight rows, then dead."""
    inbox = SqlInbox(create_engine(engine_url), clock=Clock(1_769_000_000), table_prefix=f"commits_{after_commit}")
    payments = Table(f"payments_{after_commit}", inbox.metadata, Column("id", Integer, primary_key=True),
                     Column("event_id", String(64)))
    inbox.metadata.drop_all(inbox.engine)
    inbox.create_tables()
    event: Any = {"provider": "lisoloo", "type": "message.status", "id": "lisoloo:c1"}
    assert inbox.enqueue("lisoloo:c1", event, 60) == "new"

    def handler(event: Any, connection: Connection) -> None:
        connection.execute(insert(payments).values(event_id=event["id"]))
        connection.commit()
        if after_commit == "another_write":
            connection.execute(insert(payments).values(event_id=event["id"] + ":after"))

    assert inbox.work(handler) == 1
    assert inbox.work(handler) == 0
    with inbox.engine.connect() as connection:
        written = [row[0] for row in connection.execute(select(payments.c.event_id).order_by(payments.c.id))]
    assert written == (["lisoloo:c1"] if after_commit == "nothing" else ["lisoloo:c1", "lisoloo:c1:after"])
    assert inbox.backlog() == {("lisoloo", "done"): 1}
    inbox.engine.dispose()


def test_purge_deletes_the_keys_whose_window_passed(engine_url: str) -> None:
    """Found by a reviewer: the key table was never purged (a key was deleted only when the same
    key arrived again), and grew by a row per event forever."""
    clock = Clock(1_769_000_000)
    inbox = SqlInbox(create_engine(engine_url), clock=clock, table_prefix="purgekeys")
    inbox.metadata.drop_all(inbox.engine)
    inbox.create_tables()
    for n in range(3):
        assert inbox.enqueue(f"lisoloo:p{n}", {"provider": "lisoloo", "type": "message.status", "id": f"lisoloo:p{n}"}, 60 + n) == "new"
    clock.now += 61  # p0's and p1's windows passed, p2's not
    inbox.purge()
    with inbox.engine.connect() as connection:
        keys = sorted(row[0] for row in connection.execute(select(inbox.keys.c.key)))
    assert keys == ["lisoloo:p2"]
    assert inbox.enqueue("lisoloo:p2", {"provider": "lisoloo", "type": "message.status", "id": "lisoloo:p2"}, 62) == "duplicate"
    inbox.engine.dispose()


def test_a_forked_child_opens_connections_of_its_own(engine_url: str) -> None:
    """Found by a reviewer under ``gunicorn --preload`` on PostgreSQL: the README's
    ``create_tables()`` at import left a pooled connection that every forked worker shared, and
    their interleaved transactions lost events (a key claimed, no event row) and stored some
    twice."""
    inbox = SqlInbox(create_engine(engine_url), clock=Clock(1_769_000_000), table_prefix="forked")
    inbox.create_tables()  # leaves a connection in the pool, as at an app's import
    postgres = inbox.engine.dialect.name == "postgresql"

    def backend() -> Any:
        from sqlalchemy import text

        with inbox.engine.connect() as connection:
            return connection.execute(text("SELECT pg_backend_pid()")).scalar() if postgres else id(connection.connection.dbapi_connection)

    parent = backend()
    assert inbox.engine.pool.checkedin() == 1
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: what it reports is checked by the parent
        try:
            os.write(write, json.dumps({"pooled": inbox.engine.pool.checkedin(), "backend": str(backend())}).encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        child = json.loads(pipe.read())
    os.waitpid(pid, 0)
    assert child["pooled"] == 0  # the parent's connection is not the child's to use
    if postgres:
        assert child["backend"] != str(parent)
    assert backend() == parent  # the parent keeps its own
    inbox.engine.dispose()


def _ids(inbox: SqlInbox) -> List[Any]:
    with inbox.engine.connect() as connection:
        return list(connection.execute(select(inbox.events.c.id, inbox.events.c.state).order_by(inbox.events.c.id)))


@pytest.mark.parametrize("path", PATHS, ids=[path.stem for path in PATHS])
def test_inbox_vector_on_a_real_database(engine_url: str, path: pathlib.Path) -> None:
    run_vector(engine_url, json.loads(path.read_text("utf-8")), "v_" + path.stem[:40])


# ------------------------------------------------------------------ worker processes

WORKER = textwrap.dedent('''
    import os, sys, time
    from sqlalchemy import create_engine, insert, Table, Column, Integer, String, MetaData
    from telhook.inbox import InboxPolicy
    from telhook.sqlalchemy import SqlInbox
    url, mode = sys.argv[1], sys.argv[2]
    inbox = SqlInbox(create_engine(url, pool_size=2), table_prefix="load",
                     policy=InboxPolicy(lease_secs=int(os.environ.get("LEASE", "300")), backoff_secs=1, max_backoff_secs=1))
    effects = Table("effects", MetaData(), Column("id", Integer, primary_key=True, autoincrement=True),
                    Column("key", String(255)))
    attempts = {}
    def handler(event, connection):
        connection.execute(insert(effects).values(key=event["id"]))
        if mode == "hang":
            print("in handler", flush=True)
            time.sleep(600)
        attempts[event["id"]] = attempts.get(event["id"], 0) + 1
        # 10 % of attempts fail, after the handler's write (which must roll back).
        if mode == "flaky" and hash((event["id"], attempts[event["id"]], os.getpid())) % 10 == 0:
            raise RuntimeError("flaky")
    deadline = time.monotonic() + float(os.environ.get("SECONDS", "60"))
    idle = 0
    while time.monotonic() < deadline and idle < 30:
        idle = 0 if inbox.work(handler, limit=10) else idle + 1
        if idle:
            time.sleep(0.1)
''')


def _load_inbox(url: str, events: int) -> SqlInbox:
    engine = create_engine(url)
    inbox = SqlInbox(engine, table_prefix="load")
    effects = Table("effects", inbox.metadata, Column("id", Integer, primary_key=True, autoincrement=True),
                    Column("key", String(255)))
    inbox.metadata.drop_all(engine)
    inbox.create_tables()
    del effects
    event: Any = {"provider": "lisoloo", "type": "message.status"}
    for n in range(events):
        assert inbox.enqueue(f"lisoloo:e{n}", dict(event, id=f"lisoloo:e{n}"), 300) == "new"
    assert inbox.enqueue("lisoloo:e0", dict(event, id="lisoloo:e0"), 300) == "duplicate"
    return inbox


def _effects(inbox: SqlInbox) -> Dict[str, int]:
    with inbox.engine.connect() as connection:
        rows = connection.exec_driver_sql("SELECT key, count(*) FROM effects GROUP BY key").all()
    return {key: int(count) for key, count in rows}


def _spawn(url: str, mode: str, **env: str) -> "subprocess.Popen[str]":
    return subprocess.Popen([sys.executable, "-c", WORKER, url, mode], env=dict(os.environ, **env),
                            stdout=subprocess.PIPE, text=True)


EVENTS = int(os.environ.get("TELHOOK_INBOX_EVENTS", "200"))


def test_four_workers_with_failing_attempts_process_every_event_once(pg_url: str) -> None:
    inbox = _load_inbox(pg_url, EVENTS)
    started = time.monotonic()
    workers = [_spawn(pg_url, "flaky", SECONDS="240") for _ in range(4)]
    for worker in workers:
        worker.wait(timeout=300)
    took = time.monotonic() - started
    backlog = inbox.backlog()
    assert backlog == {("lisoloo", "done"): EVENTS}, backlog
    effects = _effects(inbox)
    # Exactly once in effect: a failed attempt's write rolled back with it.
    assert len(effects) == EVENTS and set(effects.values()) == {1}
    with inbox.engine.connect() as connection:
        retried = connection.execute(select(func.count()).where(inbox.events.c.attempts > 1)
                                     .select_from(inbox.events)).scalar_one()
    assert retried > 0
    print(f"\n{EVENTS} events, 4 workers: all done once in {took:.1f} s; {retried} needed a retry")


def test_a_worker_killed_mid_handler_leaves_the_event_to_the_next_after_the_lease(pg_url: str) -> None:
    inbox = _load_inbox(pg_url, 1)
    hung = _spawn(pg_url, "hang", LEASE="2")
    assert hung.stdout is not None and hung.stdout.readline().strip() == "in handler"
    hung.send_signal(signal.SIGKILL)
    hung.wait(timeout=10)
    (record,) = [inbox.record_of(row[0]) for row in _ids(inbox)]
    assert record is not None and record["state"] == "processing"
    killed_at = time.monotonic()
    successor = _spawn(pg_url, "ok", LEASE="2", SECONDS="8")
    successor.wait(timeout=30)
    (record,) = [inbox.record_of(row[0]) for row in _ids(inbox)]
    assert record is not None and (record["state"], record["attempts"]) == ("done", 2)
    assert record["last_error_code"] == "lease_expired"
    assert _effects(inbox) == {"lisoloo:e0": 1}  # the killed attempt's write never committed
    print(f"\nprocessed by the next worker {time.monotonic() - killed_at:.1f} s after the kill (lease 2 s)")


def test_two_workers_on_sqlite_take_each_event_once(tmp_path: pathlib.Path) -> None:
    # Review: SQLite reads outside its write lock, so two workers could read one due row; each
    # wrote its claim unconditionally, both passed the finish check, and both handlers' writes
    # committed (28 of 300 events twice). Every write is now conditioned on the row's version.
    url = f"sqlite:///{tmp_path / 'workers.db'}"
    events = 300
    inbox = _load_inbox(url, events)
    workers = [_spawn(url, "flaky", SECONDS="120") for _ in range(2)]
    for worker in workers:
        assert worker.wait(timeout=180) == 0
    assert inbox.backlog() == {("lisoloo", "done"): events}
    effects = _effects(inbox)
    assert len(effects) == events and set(effects.values()) == {1}, {k: n for k, n in effects.items() if n > 1}


def test_a_finish_after_the_row_was_taken_over_commits_nothing(tmp_path: pathlib.Path) -> None:
    # The handler outlived its lease and another worker took the event: without row locks
    # (SQLite) the late finish wrote `done` over the newer attempt and its writes committed.
    clock = Clock(1_769_000_000)
    inbox = SqlInbox(create_engine(f"sqlite:///{tmp_path / 'late.db'}"), policy=InboxPolicy(lease_secs=30),
                     clock=clock, table_prefix="late")
    inbox.create_tables()
    assert inbox.enqueue("lisoloo:late", {"provider": "lisoloo", "type": "message.status", "id": "lisoloo:late"},
                         300) == "new"
    (first,) = inbox.claim()
    ran: List[str] = []

    def slow(event: Any, connection: Connection) -> None:
        ran.append("first")
        clock.now += 31  # past the lease: another worker takes the event meanwhile
        (second,) = inbox.claim()
        assert inbox.finish(second, lambda event, connection: ran.append("second")) == "done"

    assert inbox.finish(first, slow) == "lost"
    record = inbox.record_of(first.id)
    assert record is not None and (record["state"], record["attempts"]) == ("done", 2), record
    assert ran == ["first", "second"]


def always_fails(event: Any, connection: Connection) -> None:
    raise LookupError("no such customer")


def fixed(event: Any, connection: Connection) -> None:
    connection.exec_driver_sql("INSERT INTO effects (key) VALUES (?)", (event["id"],))


def test_an_always_failing_event_is_dead_then_replayed_by_the_cli(tmp_path: pathlib.Path, monkeypatch: Any) -> None:
    clock = Clock(1_769_000_000)
    module = tmp_path / "inbox_app.py"
    module.write_text(textwrap.dedent(f'''
        from sqlalchemy import create_engine
        from telhook.inbox import InboxPolicy
        from telhook.sqlalchemy import SqlInbox
        inbox = SqlInbox(create_engine("sqlite:///{tmp_path / 'app.db'}"), policy=InboxPolicy(max_attempts=3))
    '''))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(sys.modules, "test_sqlalchemy_inbox_handlers", sys.modules[__name__])
    import inbox_app  # type: ignore[import-not-found]

    inbox: SqlInbox = inbox_app.inbox
    inbox.clock = clock
    Table("effects", inbox.metadata, Column("id", Integer, primary_key=True), Column("key", String(255)))
    inbox.create_tables()
    assert inbox.enqueue("k", {"id": "k", "provider": "lisoloo", "type": "message.status"}, 60) == "new"  # type: ignore[typeddict-item]
    for _ in range(3):
        assert main(["worker", "inbox_app:inbox", "test_sqlalchemy_inbox_handlers:always_fails", "--once"]) == 0
        clock.now += 3_600
    (event_id, state), = _ids(inbox)
    record = inbox.record_of(event_id)
    assert record is not None and (state, record["attempts"], record["last_error_code"]) == ("dead", 3, "LookupError")
    assert record["last_error_message"] == "no such customer"
    assert main(["backlog", "inbox_app:inbox"]) == 0
    assert main(["replay", "inbox_app:inbox", "--state", "dead"]) == 0
    assert main(["worker", "inbox_app:inbox", "test_sqlalchemy_inbox_handlers:fixed", "--once"]) == 0
    assert [state for _, state in _ids(inbox)] == ["done"] and _effects(inbox) == {"k": 1}


def test_misuse_fails_at_construction() -> None:
    with pytest.raises(TypeError, match="Engine"):
        SqlInbox("sqlite://")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="selection"):
        SqlInbox(create_engine("sqlite://")).replay()


def test_an_async_handler_is_refused_before_any_event_is_taken(tmp_path: pathlib.Path) -> None:
    # Review: the worker called `async def on_event` without awaiting it and marked the event
    # done: its body never ran.
    inbox = SqlInbox(create_engine(f"sqlite:///{tmp_path / 'async.db'}"), table_prefix="async")
    inbox.create_tables()
    assert inbox.enqueue("lisoloo:a", {"provider": "lisoloo", "type": "message.status", "id": "lisoloo:a"}, 300) == "new"

    async def on_event(event: Any, connection: Connection) -> None:
        raise AssertionError("never run")

    for call in (lambda: inbox.work(on_event), lambda: inbox.run(on_event, stop=lambda: True)):
        with pytest.raises(TypeError, match="async function"):
            call()
    assert inbox.backlog() == {("lisoloo", "pending"): 1}
    # Behind a sync wrapper it fails as the handler does: retried later, never done.
    (claim,) = inbox.claim()
    assert inbox.finish(claim, lambda event, connection: on_event(event, connection)) == "failed"
    record = inbox.record_of(claim.id)
    assert record is not None and record["last_error_code"] == "TypeError"


# ------------------------------------------------------------------ the README's example

LISOLOO = json.loads((INBOX_DIR.parent / "vectors" / "lisoloo" / "doc_envelope_delivered.json").read_text())


def _readme_block() -> str:
    import re

    text = (INBOX_DIR.parents[1] / "README.md").read_text("utf-8")
    (block,) = [b for b in re.findall(r"```python\n(.*?)```", text, flags=re.S) if "from telhook.flask import inbox_view" in b]
    return str(block)


def test_the_readme_flask_inbox_example_stores_answers_fast_and_the_worker_handles_once(
        tmp_path: pathlib.Path, monkeypatch: Any) -> None:
    block = _readme_block()
    assert len(block.strip().splitlines()) <= 15
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'app.db'}")
    monkeypatch.setenv("LISOLOO_PASSWORD", LISOLOO["credentials"]["basic"][0]["password"])
    namespace: Dict[str, Any] = {"__name__": "app"}
    exec(block, namespace)
    inbox: SqlInbox = namespace["inbox"]
    with inbox.engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE seen (event_id TEXT UNIQUE)")
    client = namespace["app"].test_client()
    request = LISOLOO["request"]
    bodies = []
    for _ in range(2):
        started = time.monotonic()
        response = client.post("/hooks/lisoloo", data=request["body"], headers=request["headers"])
        bodies.append((response.status_code, response.get_json(), time.monotonic() - started))
    assert [(status, body) for status, body, _ in bodies] == [(200, {"outcome": "queued"}), (200, {"outcome": "duplicate"})]
    assert inbox.work(namespace["on_event"]) == 1 and inbox.work(namespace["on_event"]) == 0
    with inbox.engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT event_id FROM seen").all() == [("lisoloo:" + json.loads(
            request["body"])["event_id"],)]
    assert client.get("/hooks/lisoloo").status_code == 405


def test_the_fastapi_inbox_endpoint_answers_from_the_thread_pool(tmp_path: pathlib.Path) -> None:
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from telhook.starlette import inbox_endpoint

    inbox = SqlInbox(create_engine(f"sqlite:///{tmp_path / 'api.db'}"))
    inbox.create_tables()
    app = FastAPI()
    app.add_api_route("/hooks/lisoloo", inbox_endpoint("lisoloo", credentials=LISOLOO["credentials"], inbox=inbox),
                      methods=["POST"])
    request = LISOLOO["request"]
    with TestClient(app) as client:
        answers = [client.post("/hooks/lisoloo", content=request["body"], headers=request["headers"]).json()
                   for _ in range(2)]
    assert answers == [{"outcome": "queued"}, {"outcome": "duplicate"}]
    assert inbox.backlog() == {("lisoloo", "pending"): 1}


# ------------------------------------------------------------------ served: gunicorn + workers

SERVED_APP = textwrap.dedent('''
    import os
    from flask import Flask
    from sqlalchemy import create_engine
    from telhook.flask import inbox_view
    from telhook.sqlalchemy import SqlInbox
    inbox = SqlInbox(create_engine(os.environ["DATABASE_URL"], pool_size=int(os.environ.get("POOL", "2"))),
                     table_prefix="served")
    app = Flask(__name__)
    app.add_url_rule("/hooks/lisoloo", view_func=inbox_view(
        "lisoloo", credentials={"basic": {"username": "hook", "password": "pw"}}, inbox=inbox))

    def slow(event, connection):  # a handler that does real work: 10 s
        import time
        time.sleep(float(os.environ.get("HANDLER_SECS", "10")))
        connection.exec_driver_sql("INSERT INTO served_effects (key) VALUES (%s)", (event["id"],))
''')


HANDLER_SECS = int(os.environ.get("TELHOOK_INBOX_HANDLER_SECS", "2"))
CONCURRENCY = 40


def test_under_gunicorn_a_slow_handler_never_slows_the_answer_and_runs_once_per_event(
        pg_url: str, tmp_path: pathlib.Path) -> None:
    import concurrent.futures
    import http.client

    from services import free_port, wait_until
    from telhook.testing import signed_request

    (tmp_path / "served_app.py").write_text(SERVED_APP)
    inbox = SqlInbox(create_engine(pg_url), table_prefix="served")
    inbox.metadata.drop_all(inbox.engine)
    inbox.create_tables()
    with inbox.engine.begin() as connection:
        connection.exec_driver_sql("DROP TABLE IF EXISTS served_effects")
        connection.exec_driver_sql("CREATE TABLE served_effects (key TEXT)")
    port = free_port()
    env = dict(os.environ, DATABASE_URL=pg_url, PYTHONPATH=f"{tmp_path}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "--workers", "4", "--bind", f"127.0.0.1:{port}",
                               "served_app:app"], env=env, cwd=tmp_path, stderr=subprocess.DEVNULL)
    worker = subprocess.Popen([sys.executable, "-m", "telhook.sqlalchemy", "worker", "served_app:inbox",
                               "served_app:slow", "--concurrency", str(CONCURRENCY), "--poll-secs", "0.2"],
                              env=dict(env, POOL=str(CONCURRENCY), HANDLER_SECS=str(HANDLER_SECS)), cwd=tmp_path)
    credentials = {"basic": {"username": "hook", "password": "pw"}}
    requests = [signed_request("lisoloo", credentials=credentials) for _ in range(EVENTS)]
    requests += requests[:EVENTS // 10]  # redeliveries: duplicates, stored once

    def post(request: Any) -> "tuple[int, float]":
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        started = time.perf_counter()
        connection.request("POST", "/hooks/lisoloo", body=request.body, headers=dict(request.headers))
        response = connection.getresponse()
        response.read()
        connection.close()
        return response.status, time.perf_counter() - started

    try:
        def up() -> bool:
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
                connection.request("GET", "/hooks/lisoloo")
                return connection.getresponse().status == 405
            except OSError:
                return False

        wait_until(up, "gunicorn")
        # Each gunicorn worker's first requests open its connections: measured is the steady state.
        warm_up = [signed_request("lisoloo", credentials=credentials) for _ in range(16)]
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            assert {status for status, _ in pool.map(post, warm_up)} == {200}
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(post, requests))
        assert {status for status, _ in answers} == {200}
        latencies = sorted(seconds for _, seconds in answers)
        p50, p99 = latencies[len(latencies) // 2], latencies[int(len(latencies) * 0.99)]
        started = time.monotonic()
        wait_until(lambda: inbox.backlog() == {("lisoloo", "done"): EVENTS + len(warm_up)}, "the workers",
                   seconds=EVENTS * HANDLER_SECS / CONCURRENCY + 60)
        effects = _counts(inbox)
        assert len(effects) == EVENTS + len(warm_up) and set(effects.values()) == {1}
        print(f"\n{len(answers)} deliveries under gunicorn (4 workers), {HANDLER_SECS} s handler: p50 {p50 * 1000:.1f} ms, "
              f"p99 {p99 * 1000:.1f} ms, max {latencies[-1] * 1000:.1f} ms; {EVENTS} events done once, "
              f"{time.monotonic() - started:.0f} s after the last answer ({CONCURRENCY} handler threads)")
    finally:
        for process in (worker, server):
            process.terminate()
            process.wait(timeout=30)


def _counts(inbox: SqlInbox) -> Dict[str, int]:
    with inbox.engine.connect() as connection:
        rows = connection.exec_driver_sql("SELECT key, count(*) FROM served_effects GROUP BY key").all()
    return {key: int(count) for key, count in rows}


def test_on_sqlite_a_failed_event_insert_leaves_no_key_claimed(tmp_path: pathlib.Path) -> None:
    """Python's sqlite3 driver begins a transaction only before a data-changing statement: the
    savepoint around the key's insert was the transaction itself, and its release committed
    the key alone. An event insert that then failed (SQLite's write lock held past its busy
    timeout, a killed worker) left the key claimed: the provider's retry was a "duplicate" and
    the event was never stored. Now the key commits with its event or not at all."""
    import sqlite3

    from sqlalchemy import event as sa_event

    path = tmp_path / "atomic.db"
    inbox = SqlInbox(create_engine(f"sqlite:///{path}"), table_prefix="atomic")
    inbox.create_tables()
    seen_by_others: List[int] = []

    @sa_event.listens_for(inbox.engine, "after_cursor_execute")
    def after(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.startswith("RELEASE SAVEPOINT"):
            other = sqlite3.connect(path)
            seen_by_others.append(other.execute("SELECT count(*) FROM atomic_key").fetchone()[0])
            other.close()

    original = inbox._insert_event

    def failing(*args: Any) -> None:
        raise RuntimeError("database is locked")

    event: Any = {"provider": "lisoloo", "type": "message.status", "id": "lisoloo:a1"}
    inbox._insert_event = failing  # type: ignore[method-assign]
    with pytest.raises(RuntimeError):
        inbox.enqueue("lisoloo:a1", event, 86_400)
    inbox._insert_event = original  # type: ignore[method-assign]
    assert seen_by_others == [0]  # the key was not committed on its own
    assert inbox.enqueue("lisoloo:a1", event, 86_400) == "new"  # the retry is stored
    assert inbox.backlog() == {("lisoloo", "pending"): 1}
    inbox.engine.dispose()


def test_after_sigterm_the_worker_ends_with_the_event_in_hand(tmp_path: pathlib.Path) -> None:
    """`run` stopped only between batches of 50: after SIGTERM it went on taking new events,
    and a container's grace period ran out mid-handler."""
    inbox = SqlInbox(create_engine(f"sqlite:///{tmp_path / 'stop.db'}"), table_prefix="stop")
    inbox.create_tables()
    for n in range(10):
        inbox.enqueue(f"lisoloo:s{n}", {"provider": "lisoloo", "type": "message.status", "id": f"lisoloo:s{n}"}, 60)
    handled: List[str] = []
    stop_after = 2

    def handler(event: Any, connection: Connection) -> None:
        handled.append(event["id"])

    inbox.run(handler, poll_secs=0.05, stop=lambda: len(handled) >= stop_after)
    assert len(handled) == stop_after, handled
    inbox.engine.dispose()


def test_every_inbox_refuses_a_millisecond_clock_and_a_policy_of_another_type_at_construction() -> None:
    """A clock in milliseconds turned a 24 h dedupe window into 86 s (the provider's retry two
    minutes later was stored again); a dict policy failed only in the worker, on every pass."""
    from telhook.inbox import MemoryInbox

    milliseconds = lambda: time.time() * 1000  # noqa: E731
    with pytest.raises(telhook.ConfigurationError) as raised:
        SqlInbox(create_engine("sqlite://"), clock=milliseconds)
    assert raised.value.code == "invalid_clock"
    with pytest.raises(telhook.ConfigurationError):
        MemoryInbox(clock=milliseconds)
    with pytest.raises(TypeError, match="InboxPolicy"):
        SqlInbox(create_engine("sqlite://"), policy={"max_attempts": 3})  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="InboxPolicy"):
        MemoryInbox(policy={"max_attempts": 3})  # type: ignore[arg-type]


def test_a_delivery_after_the_database_closed_the_pools_connections_is_stored(pg_url: str) -> None:
    """PostgreSQL restarted (its connections terminated) while the app was idle: the pool's
    connection fails on its first use, and the delivery is stored over a new one, never a 503
    (lost for Twilio and the DID reseller; a review restarted PostgreSQL under gunicorn)."""
    import psycopg

    engine = create_engine(pg_url, pool_size=2)
    inbox = SqlInbox(engine, clock=Clock(1_769_000_000), table_prefix="restart")
    inbox.metadata.drop_all(engine)
    inbox.create_tables()
    event: Any = {"id": "twilio:SM1:delivered", "provider": "twilio", "type": "message.status"}
    assert inbox.enqueue("twilio:SM1:delivered", event, 3600) == "new"
    port = engine.url.port
    with psycopg.connect(f"host=127.0.0.1 port={port} user=telhook dbname=postgres", autocommit=True) as admin:
        terminated = admin.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = 'telhook_sa' AND pid <> pg_backend_pid()"
        ).fetchone()
    assert terminated is not None and terminated[0] >= 1
    second: Any = dict(event, id="twilio:SM2:delivered")
    assert inbox.enqueue("twilio:SM2:delivered", second, 3600) == "new"
    assert inbox.enqueue("twilio:SM2:delivered", second, 3600) == "duplicate"
    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(inbox.events)).scalar() == 2


def test_an_exception_whose_str_raises_fails_its_attempt(tmp_path: pathlib.Path) -> None:
    """A handler's exception whose ``__str__`` raises is a failed attempt like any other (its
    type kept), not an error of the recording that leaves the event to its lease (a review)."""

    class Unprintable(Exception):
        def __str__(self) -> str:
            raise ValueError("__str__ failed")

    inbox = SqlInbox(create_engine(f"sqlite:///{tmp_path / 'str.db'}"), clock=Clock(1_769_000_000),
                     policy=InboxPolicy(max_attempts=3), table_prefix="unprintable")
    inbox.create_tables()
    event: Any = {"id": "lisoloo:e1", "provider": "lisoloo", "type": "message.status"}
    assert inbox.enqueue("lisoloo:e1", event, 3600) == "new"

    def handler(_event: Any, _connection: Any) -> None:
        raise Unprintable()

    [claim] = inbox.claim(1)
    assert inbox.finish(claim, handler) == "failed"
    with inbox.engine.connect() as connection:
        row = connection.execute(select(inbox.events)).mappings().one()
    assert (row["state"], row["attempts"]) == ("failed", 1)
    assert row["last_error_code"].endswith("Unprintable")
    assert "raised" in row["last_error_message"]


def test_two_inbox_views_of_one_provider_serve_side_by_side_in_flask(tmp_path: pathlib.Path) -> None:
    """Two accounts of one provider, two routes: the second view given its own endpoint name, as
    the README says (without it Flask refuses it at start-up: 'View function mapping is
    overwriting an existing endpoint'); the first keeps its stable name for url_for."""
    from flask import Flask

    from telhook.flask import inbox_view
    from telhook.testing import signed_request

    first = {"basic": {"username": "account-a", "password": "password-a"}}
    second = {"basic": {"username": "account-b", "password": "password-b"}}
    inboxes = [SqlInbox(create_engine(f"sqlite:///{tmp_path / name}.db"), table_prefix=name) for name in ("a", "b")]
    for inbox in inboxes:
        inbox.create_tables()
    app = Flask(__name__)
    app.add_url_rule("/hooks/a", view_func=inbox_view("lisoloo", credentials=first, inbox=inboxes[0]))
    app.add_url_rule("/hooks/b", endpoint="lisoloo_b", view_func=inbox_view("lisoloo", credentials=second, inbox=inboxes[1]))
    with app.test_request_context():
        from flask import url_for

        assert (url_for("telhook_inbox_lisoloo"), url_for("lisoloo_b")) == ("/hooks/a", "/hooks/b")
    client = app.test_client()
    for path, credentials in (("/hooks/a", first), ("/hooks/b", second)):
        request = signed_request("lisoloo", credentials=credentials)
        answer = client.post(path, data=request.body, headers=request.headers)
        assert (answer.status_code, answer.get_json()) == (200, {"outcome": "queued"}), path
    for inbox in inboxes:
        with inbox.engine.connect() as connection:
            assert connection.execute(select(func.count()).select_from(inbox.events)).scalar() == 1


def test_the_cli_refuses_a_replay_without_a_selection_as_a_usage_error(tmp_path: pathlib.Path, monkeypatch: Any) -> None:
    """`replay INBOX` alone is a usage error (exit 2, what to give), not a ValueError traceback."""
    from telhook.sqlalchemy import main

    (tmp_path / "replay_app.py").write_text(
        "from sqlalchemy import create_engine\nfrom telhook.sqlalchemy import SqlInbox\n"
        f"inbox = SqlInbox(create_engine('sqlite:///{tmp_path / 'replay.db'}'))\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(SystemExit) as exited:
        main(["replay", "replay_app:inbox"])
    assert exited.value.code == 2


def test_worker_once_stops_after_the_event_in_hand_on_sigint(tmp_path: pathlib.Path) -> None:
    """Ctrl-C during `worker --once` ends it after the handler in hand, its event done, as the
    long-running worker does (it raised KeyboardInterrupt mid-handler: the event stayed
    processing until its lease, its attempt spent)."""
    import signal as signals
    import subprocess
    import sys as system
    import time

    app = tmp_path / "once_app.py"
    app.write_text(
        "import time\nfrom sqlalchemy import create_engine\nfrom telhook.sqlalchemy import SqlInbox\n"
        f"inbox = SqlInbox(create_engine('sqlite:///{tmp_path / 'once.db'}'))\n"
        "def slow(event, connection):\n    print('started', flush=True)\n    time.sleep(1.5)\n"
    )
    setup = SqlInbox(create_engine(f"sqlite:///{tmp_path / 'once.db'}"), clock=lambda: time.time())
    setup.create_tables()
    for n in range(2):
        event: Any = {"id": f"lisoloo:once-{n}", "provider": "lisoloo", "type": "message.status"}
        assert setup.enqueue(event["id"], event, 3600) == "new"
    worker = subprocess.Popen([system.executable, "-m", "telhook.sqlalchemy", "worker", "once_app:inbox", "once_app:slow", "--once"],
                              cwd=tmp_path, stdout=subprocess.PIPE, text=True,
                              env={**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), *system.path])})
    assert worker.stdout is not None
    assert worker.stdout.readline().strip() == "started"
    worker.send_signal(signals.SIGINT)
    out, _ = worker.communicate(timeout=30)
    assert worker.returncode == 0, out
    assert "processed 1" in out
    with setup.engine.connect() as connection:
        states = sorted(connection.execute(select(setup.events.c.state)).scalars())
    assert states == ["done", "pending"]


def test_create_tables_from_several_processes_starting_at_once(pg_url: str) -> None:
    """The web app and its worker both create the tables at import (the README's example): on
    a fresh PostgreSQL database the second concurrent CREATE TABLE failed (a unique violation on
    pg_type), and the worker died at start-up (a review: 1 round in 3 with four processes)."""
    import threading

    for round_ in range(4):
        prefix = f"race{round_}_"
        engines = [create_engine(pg_url) for _ in range(4)]
        inboxes = [SqlInbox(engine, table_prefix=prefix) for engine in engines]
        inboxes[0].metadata.drop_all(engines[0])
        start = threading.Barrier(len(inboxes))
        failures: List[BaseException] = []

        def create(inbox: SqlInbox) -> None:
            start.wait()
            try:
                inbox.create_tables()
            except BaseException as error:  # noqa: BLE001 (what a thread raised is the finding)
                failures.append(error)

        threads = [threading.Thread(target=create, args=(inbox,)) for inbox in inboxes]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert failures == [], failures
        for engine in engines:
            engine.dispose()


def test_a_failed_enqueue_never_shows_the_event_in_its_error(tmp_path: pathlib.Path) -> None:
    """The event is a parameter of the insert: SQLAlchemy's error text lists parameters, and the
    503's log line carried phone numbers and the message's text (a review)."""
    engine = create_engine(f"sqlite:///{tmp_path / 'inbox.db'}")
    inbox = SqlInbox(engine)
    inbox.create_tables()
    inbox.metadata.tables["telhook_inbox"].drop(engine)  # the event's insert fails
    event = {"id": "lisoloo:e1", "provider": "lisoloo", "type": "message.received", "message": {"text": "a secret meeting at 9"},
             "from": "+4512345678"}
    with pytest.raises(Exception) as failed:
        inbox.enqueue("lisoloo:e1", cast(Any, event), 300)
    text = str(failed.value)
    assert "no such table: telhook_inbox" in text and "INSERT" in text
    assert "+4512345678" not in text and "secret meeting" not in text


def test_a_handler_whose_statement_fails_records_no_event_value_in_its_error(tmp_path: pathlib.Path) -> None:
    """The handler's own INSERT fails with the event's values as its parameters: the recorded
    error (the row's last_error_message, the outcome's log line) names the statement and the
    database's reason, not the phone number or the text (a review: only the webhook's enqueue
    hid them)."""
    engine = create_engine(f"sqlite:///{tmp_path / 'inbox.db'}")
    inbox = SqlInbox(engine)
    inbox.create_tables()
    event = {"id": "lisoloo:e2", "provider": "lisoloo", "type": "message.received", "message": {"text": "a secret meeting at 9"},
             "from": "+4512345678"}
    assert inbox.enqueue("lisoloo:e2", cast(Any, event), 300) == "new"

    def handler(event: Any, connection: Connection) -> None:
        connection.exec_driver_sql("INSERT INTO no_such_table (sender, text) VALUES (?, ?)",
                                   (event["from"], event["message"]["text"]))

    [claim] = inbox.claim(1)
    assert inbox.finish(claim, handler) == "failed"
    with engine.connect() as connection:
        message = connection.execute(select(inbox.events.c.last_error_message)).scalar_one()
    assert "no such table: no_such_table" in message
    assert "+4512345678" not in message and "secret meeting" not in message, message
