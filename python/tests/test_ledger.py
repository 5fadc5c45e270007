"""The status ledger in Python: the shared vectors through the core, the same sequences through
every store (Django on SQLite and real PostgreSQL, real Redis), 50 concurrent reports of one
message (20 runs per store), the signals, the admin, and the README's Django example."""

from __future__ import annotations

import base64
import copy
import json
import pathlib
import random
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

import pytest
import redis
from django.core.management import call_command
from django.db import connections
from django.test import RequestFactory

import telhook
from telhook.django_ledger import ledger as django_ledger
from telhook.django_ledger.models import MessageStatus
from telhook.django_ledger.signals import event_received, message_status_changed
from telhook.redis_ledger import RedisLedger

ROOT = pathlib.Path(__file__).resolve().parents[2]
VECTORS = [(p.name, json.loads(p.read_text("utf-8"))) for p in sorted((ROOT / "tests" / "ledger").glob("*.json"))]
STATUS_VECTORS = [(name, v) for name, v in VECTORS if "state" in v["expect"]]
STATUSES = ["accepted", "queued", "sent", "failed", "expired", "rejected", "canceled", "delivered"]


def run_vector(apply: Callable[[Optional[Any], Dict[str, Any]], Any], vector: Dict[str, Any]) -> List[Dict[str, Any]]:
    results = []
    for run in vector["runs"]:
        state, verdicts = None, []
        try:
            for index in run["order"]:
                result = apply(state, vector["events"][index])
                verdicts.append(result["verdict"])
                state = result["state"]
        except telhook.WebhookError as error:
            results.append({"error": error.code})
            continue
        results.append({"verdicts": verdicts, "state": state})
    return results


def expected(vector: Dict[str, Any]) -> List[Dict[str, Any]]:
    if "error" in vector["expect"]:
        return [{"error": vector["expect"]["error"]} for _ in vector["runs"]]
    return [{"verdicts": run["verdicts"], "state": vector["expect"]["state"]} for run in vector["runs"]]


def test_at_least_20_ledger_vectors_pass_through_the_core() -> None:
    assert len(VECTORS) >= 20
    for name, vector in VECTORS:
        assert run_vector(telhook.ledger_apply, vector) == expected(vector), name


# ------------------------------------------------------------------ stores
@pytest.fixture(scope="module")
def pg_alias(postgres_port: int) -> Iterator[str]:
    connections.settings["postgres"]["PORT"] = str(postgres_port)
    call_command("migrate", "telhook_ledger", database="postgres", verbosity=0)
    yield "postgres"
    connections.close_all()


@pytest.fixture(scope="module")
def sqlite_alias() -> str:
    call_command("migrate", "telhook_ledger", database="default", verbosity=0)
    return "default"


@pytest.fixture(scope="module")
def redis_client(redis_url: str) -> Iterator[Any]:
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


def django_store(alias: str) -> Callable[[Optional[Any], Dict[str, Any]], Any]:
    def apply(_state: Optional[Any], event: Dict[str, Any]) -> Dict[str, Any]:
        change = django_ledger.apply(event, using=alias)
        return {"verdict": change.verdict, "state": change.status.as_state()}

    return apply


def redis_store(client: Any) -> Callable[[Optional[Any], Dict[str, Any]], Any]:
    ledger = RedisLedger(client)
    return lambda _state, event: ledger.apply(event)


def clear(store: str, alias_or_client: Any) -> None:
    if store == "redis":
        for key in alias_or_client.scan_iter("telhook:ledger:*"):
            alias_or_client.delete(key)
    else:
        MessageStatus.objects.using(alias_or_client).all().delete()


@pytest.mark.parametrize("store", ["sqlite", "postgres", "redis"])
def test_every_store_gives_the_cores_verdicts_and_state(store: str, request: Any) -> None:
    target = request.getfixturevalue({"sqlite": "sqlite_alias", "postgres": "pg_alias", "redis": "redis_client"}[store])
    apply = redis_store(target) if store == "redis" else django_store(target)
    for name, vector in VECTORS:
        for run, want in zip(vector["runs"], expected(vector)):
            clear(store, target)
            single = dict(vector, runs=[run])
            assert run_vector(apply, single) == [want], f"{store} {name} {run['order']}"


def status_event(message_id: str, status: str, n: int) -> Dict[str, Any]:
    """A Lisoloo status event as the core normalizes it (delivered through the real receiver)."""
    word = {"accepted": "pending", "queued": "processing"}.get(status, status)
    body = json.dumps({"event_id": f"7d0c4e8a-1b2f-4c3d-9e8f-{n:012d}", "event_type": f"sms.{word}",
                       "timestamp": f"2026-05-27T10:00:{n:02d}Z", "message_id": message_id,
                       "data": {"recipient_phone": "+4512345678"}})
    return telhook.normalize_event("lisoloo", headers=basic_auth(), body=body, credentials=LISOLOO,
                                   now=1_780_000_000)  # type: ignore[return-value]


LISOLOO = {"basic": [{"username": "lisoloo-hook", "password": "liso-PASS-current-4411"}]}


def basic_auth() -> Dict[str, str]:
    token = base64.b64encode(b"lisoloo-hook:liso-PASS-current-4411").decode()
    return {"Authorization": f"Basic {token}", "Content-Type": "application/json"}


def fifty_reports(rng: random.Random, message_id: str) -> Tuple[List[Dict[str, Any]], str]:
    statuses = [rng.choice(STATUSES) for _ in range(50)]
    best = max(statuses, key=lambda s: telhook.ledger_update(status_event("m", s, 0))["rank"])
    events = [status_event(message_id, status, n) for n, status in enumerate(statuses)]
    rng.shuffle(events)
    return events, best


def hammer(apply: Callable[[Dict[str, Any]], Any], events: List[Dict[str, Any]], on_exit: Callable[[], None]) -> None:
    start = threading.Barrier(len(events))

    def one(event: Dict[str, Any]) -> None:
        start.wait()  # all 50 threads fire together
        try:
            apply(event)
        finally:
            on_exit()

    with ThreadPoolExecutor(max_workers=len(events)) as pool:
        list(pool.map(one, events))


@pytest.mark.parametrize("store", ["sqlite", "postgres"])
@pytest.mark.parametrize("message_id", ["m" * 300, "m\x001"], ids=["300 characters", "NUL"])
def test_a_message_id_the_column_refuses_is_stored_as_its_hash_and_still_raises_only(
        store: str, message_id: str, request: Any) -> None:
    """Found by a reviewer on PostgreSQL: a message id over 255 characters or holding NUL raised
    DataError, a 500 from the README's @webhook on every delivery until Lisoloo dropped it."""
    alias = request.getfixturevalue({"sqlite": "sqlite_alias", "postgres": "pg_alias"}[store])
    clear(store, alias)
    assert django_ledger.apply(status_event(message_id, "sent", 1), using=alias).verdict == "applied"
    change = django_ledger.apply(status_event(message_id, "delivered", 2), using=alias)
    assert (change.verdict, change.status.status) == ("applied", "delivered")
    assert django_ledger.apply(status_event(message_id, "sent", 3), using=alias).verdict == "after_final"
    stored = MessageStatus.objects.using(alias).get()
    assert stored.message_id.startswith("sha256:") and stored.status == "delivered"


@pytest.mark.parametrize("store", ["sqlite", "postgres"])
def test_nul_in_an_error_description_or_an_event_id_is_stored_as_u_fffd(store: str, request: Any) -> None:
    """Found by a reviewer on PostgreSQL, whose text and jsonb refuse NUL: a verified failure
    report whose error description, or a report whose event id, held U+0000 raised DataError."""
    alias = request.getfixturevalue({"sqlite": "sqlite_alias", "postgres": "pg_alias"}[store])
    clear(store, alias)

    def report(body: Dict[str, Any]) -> Dict[str, Any]:
        return telhook.normalize_event("lisoloo", headers=basic_auth(), body=json.dumps(body), credentials=LISOLOO,
                                       now=1_780_000_000)  # type: ignore[return-value]

    base = {"timestamp": "2026-05-27T10:00:01Z", "message_id": "m-nul"}
    failed = report({**base, "event_id": "e1", "event_type": "sms.failed", "data": {
        "recipient_phone": "+4512345678", "error_code": 34, "error_message": "Absent\x00subscriber"}})
    delivered = report({**base, "event_id": "e\x002", "event_type": "sms.delivered",
                        "data": {"recipient_phone": "+4512345679"}})
    change = django_ledger.apply(failed, using=alias)
    assert change.verdict == "applied" and change.status.error["description"] == "Absent\ufffdsubscriber"
    assert django_ledger.apply(delivered, using=alias).verdict == "applied"


@pytest.mark.parametrize("store", ["postgres", "redis", "sqlite"])
def test_50_concurrent_reports_store_the_highest_ranked_status_20_runs(store: str, request: Any) -> None:
    target = request.getfixturevalue({"sqlite": "sqlite_alias", "postgres": "pg_alias", "redis": "redis_client"}[store])
    rng = random.Random()
    for run in range(20):
        message_id = f"{store}-run-{run}-{rng.random()}"
        events, best = fifty_reports(rng, message_id)
        if store == "redis":
            ledger = RedisLedger(target)
            hammer(ledger.apply, events, lambda: None)
            stored = target.hget(ledger.keys("lisoloo", message_id, "+4512345678")[0], "status").decode()
        else:
            hammer(lambda e: django_ledger.apply(e, using=target), events, lambda: connections[target].close())
            stored = MessageStatus.objects.using(target).get(message_id=message_id).status
        assert stored == best, f"{store} run {run}"


def test_signals_fire_for_every_event_and_for_each_raised_status(sqlite_alias: str) -> None:
    received: List[str] = []
    changed: List[str] = []
    on_received = lambda sender, event, **kwargs: received.append(event["id"])  # noqa: E731
    on_changed = lambda sender, status, event, verdict, **kwargs: changed.append(status.status)  # noqa: E731
    event_received.connect(on_received)
    message_status_changed.connect(on_changed)
    try:
        for status, n in [("sent", 1), ("delivered", 2), ("queued", 3)]:
            django_ledger.record(status_event("signals", status, n))
        other = copy.deepcopy(status_event("signals", "sent", 4))
        other.update(status=None)
        assert django_ledger.record(other) is None
    finally:
        event_received.disconnect(on_received)
        message_status_changed.disconnect(on_changed)
    assert len(received) == 4
    assert changed == ["sent", "delivered"]
    row = MessageStatus.objects.get(message_id="signals")
    assert (row.status, row.is_final, sorted(row.seen)) == ("delivered", True, ["delivered", "queued", "sent"])


def test_a_signal_receiver_that_raises_rolls_the_status_back_so_the_retry_applies_and_signals_it(
        sqlite_alias: str) -> None:
    """The row was committed before the signal: a receiver that raised made the webhook answer
    500, and the provider's retry found the status stored ("after_final") and signalled nobody."""
    changed: List[str] = []
    calls = [0]

    def on_changed(sender: Any, status: Any, event: Any, verdict: Any, **kwargs: Any) -> None:
        calls[0] += 1
        if calls[0] == 1:
            raise RuntimeError("the notification service is down")
        changed.append(status.status)

    message_status_changed.connect(on_changed)
    try:
        delivered = status_event("signal-fails", "delivered", 1)
        with pytest.raises(RuntimeError):
            django_ledger.apply(delivered)
        assert not MessageStatus.objects.filter(message_id="signal-fails").exists()
        assert django_ledger.apply(delivered).verdict == "applied"  # the provider's retry
    finally:
        message_status_changed.disconnect(on_changed)
    assert changed == ["delivered"]


def test_a_non_status_event_is_refused_by_apply_with_a_typed_error(sqlite_alias: str) -> None:
    event = status_event("refused", "sent", 1)
    event["message"] = None
    with pytest.raises(telhook.RequestError) as raised:
        django_ledger.apply(event)
    assert raised.value.code == "invalid_request"
    assert "message.id" in str(raised.value)


def test_admin_lists_message_statuses_with_filters_on_provider_status_and_final(sqlite_alias: str) -> None:
    from django.conf import settings
    from django.contrib.auth.models import User
    from django.test import Client, override_settings

    call_command("migrate", verbosity=0)
    django_ledger.apply(status_event("admin-a", "delivered", 1))
    django_ledger.apply(status_event("admin-b", "sent", 2))
    User.objects.filter(username="admin").delete()
    user = User.objects.create_superuser("admin", "admin@example.com", "not-a-secret-test-only")
    with override_settings(ROOT_URLCONF="djangoproject.admin_urls", MIDDLEWARE=settings.ADMIN_MIDDLEWARE):
        client = Client()
        client.force_login(user)
        page = client.get("/admin/telhook_ledger/messagestatus/", {"is_final__exact": "1", "provider": "lisoloo"})
        assert page.status_code == 200
        html = page.content.decode()
        assert ">admin-a<" in html and ">admin-b<" not in html
        assert re.findall(r"By ([a-z]+)", html) == ["provider", "status", "final"]
        html = client.get("/admin/telhook_ledger/messagestatus/", {"status": "sent"}).content.decode()
        assert ">admin-b<" in html and ">admin-a<" not in html


def test_readme_django_example_records_and_signals(sqlite_alias: str, capsys: Any, settings: Any = None) -> None:
    readme = (ROOT / "README.md").read_text("utf-8")
    section = readme[readme.index("## Delivery status"):]
    block = re.search(r"```python\n(.*?)```", section, re.S)
    assert block is not None
    assert len(block.group(1).strip().splitlines()) <= 15
    from django.test import override_settings

    with override_settings(TELHOOK={"lisoloo": LISOLOO}):
        namespace: Dict[str, Any] = {}
        exec(compile(block.group(1), "README.md", "exec"), namespace)
        for status, n in [("delivered", 2), ("sent", 1)]:
            body = json.dumps({"event_id": f"5e0c4e8a-1b2f-4c3d-9e8f-{n:012d}", "event_type": f"sms.{status}",
                               "timestamp": f"2026-05-27T10:00:0{n}Z", "message_id": "readme-1",
                               "data": {"recipient_phone": "+4512345678"}})
            request = RequestFactory().post("/hooks/lisoloo", data=body, content_type="application/json",
                                            HTTP_AUTHORIZATION=basic_auth()["Authorization"])
            assert namespace["lisoloo_hook"](request).status_code == 200
        message_status_changed.disconnect(namespace["status_changed"])
    printed = capsys.readouterr().out.strip().splitlines()
    assert printed == ["readme-1 +4512345678 delivered {'delivered': '2026-05-27T10:00:02Z'}"]
    assert MessageStatus.objects.get(message_id="readme-1").seen == {
        "delivered": "2026-05-27T10:00:02Z", "sent": "2026-05-27T10:00:01Z"}
