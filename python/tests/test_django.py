"""telhook.django in a real Django project with the test client: sync, async and atomic views,
LocMem and real Redis, the system check, the old decorator arguments."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from typing import Any, Dict, Iterator, List, Tuple

import pytest
from django.core import checks
from django.core.cache import caches
from django.core.signals import got_request_exception
from django.test import AsyncClient, Client, override_settings

import telhook
from djangoproject import views
from djangoproject.models import Processed
from telhook.django import webhook
from telhook.django.models import DedupeKey


def vector(vectors: List[Tuple[str, Dict[str, Any]]], name: str) -> Dict[str, Any]:
    return next(v for n, v in vectors if n == name)


def post(client: Any, path: str, v: Dict[str, Any], **overrides: str) -> Any:
    headers = {**v["request"]["headers"], **overrides}
    content_type = headers.pop("Content-Type", "application/json")
    return client.post(path, data=v["request"]["body"], content_type=content_type, headers=headers)


@pytest.fixture(autouse=True)
def fresh_state() -> Iterator[None]:
    views.PROCESSED.clear()
    views.FAIL_NEXT["value"] = False
    views.OWN_RESPONSE["value"] = False
    caches["default"].clear()
    Processed.objects.all().delete()
    DedupeKey.objects.all().delete()
    yield


def test_signed_accepted_forged_rejected_redelivery_acknowledged_once(vectors: Any) -> None:
    v = vector(vectors, "limephone/doc_sms_received.json")
    client = Client()
    first = post(client, "/hooks/limephone", v)
    assert (first.status_code, first.json()) == (200, {"outcome": "accepted"})
    again = post(client, "/hooks/limephone", v)
    assert (again.status_code, again.json()) == (200, {"outcome": "duplicate"})
    assert views.PROCESSED == ["limephone:sms_received:345678"]  # processed once
    forged = post(client, "/hooks/limephone", v, **{"X-LimePhone-Signature": "ab" * 32})
    assert forged.status_code == 401
    assert forged.json() == {"error": "signature_mismatch"}
    assert len(views.PROCESSED) == 1


def test_url_parameters_reach_the_view_as_django_passes_them(vectors: Any) -> None:
    v = vector(vectors, "limephone/doc_sms_received.json")
    client = Client()
    first = post(client, "/tenants/acme/limephone", v)
    assert (first.status_code, first.json()) == (200, {"outcome": "accepted"})
    again = post(client, "/tenants/acme/limephone", v)
    assert (again.status_code, again.json()) == (200, {"outcome": "duplicate"})
    assert views.PROCESSED == ["acme:limephone:sms_received:345678:[]"]
    caches["default"].clear()
    assert post(client, "/tenants/beta/limephone-async", v).json() == {"outcome": "accepted"}
    assert views.PROCESSED[-1] == "beta:limephone:sms_received:345678"
    assert post(client, "/tenants/gamma/limephone-atomic", v).json() == {"outcome": "accepted"}
    assert list(Processed.objects.values_list("event_id", flat=True)) == ["gamma:limephone:sms_received:345678"]
    # A view that cannot take them fails as a view does: a 500 the provider retries, not Django's page.
    with pytest.raises(TypeError, match="cannot take"):
        webhook("limephone", credentials={"hmac_sha256": "a-webhook-secret-1"})(lambda request: None)


def test_malformed_body_method_and_size(vectors: Any) -> None:
    client = Client()
    malformed = vector(vectors, "lisoloo/err_malformed_json.json")
    response = post(client, "/hooks/lisoloo", malformed)
    assert response.status_code == 400  # Lisoloo treats it as permanent: no retry storm
    assert response.json() == {"error": "malformed_json"}
    get = client.get("/hooks/lisoloo")
    assert (get.status_code, get["Allow"], get.json()) == (405, "POST", {"error": "method_not_allowed"})
    # Over the 1 MiB cap (Django's DATA_UPLOAD_MAX_MEMORY_SIZE no longer applies: the body is streamed).
    # The cap is the receiver's setting and Lisoloo drops an event on a 413: 500, retried.
    too_big = client.post("/hooks/lisoloo", data=b"x" * (1024 * 1024 + 1), content_type="application/json")
    assert too_big.status_code == 500 and too_big.json() == {"error": "body_too_large"}
    assert views.PROCESSED == []


def test_view_failure_is_500_reported_logged_and_the_retry_is_processed(
    vectors: Any, caplog: pytest.LogCaptureFixture
) -> None:
    v = vector(vectors, "limephone/doc_incoming_call.json")
    client = Client(raise_request_exception=False)
    signalled: List[Any] = []

    def receiver(sender: Any, request: Any, **kwargs: Any) -> None:
        signalled.append(request.path)

    got_request_exception.connect(receiver)
    try:
        views.FAIL_NEXT["value"] = True
        with caplog.at_level(logging.INFO, logger="telhook"):
            failed = post(client, "/hooks/limephone", v)
    finally:
        got_request_exception.disconnect(receiver)
    assert (failed.status_code, failed.json()) == (500, {"error": "handler_failed"})
    assert signalled == ["/hooks/limephone"]
    record = next(r for r in caplog.records if r.name == "telhook" and r.levelno == logging.ERROR)
    assert (record.telhook_provider, record.telhook_event_id, record.telhook_code) == (  # type: ignore[attr-defined]
        "limephone", "limephone:incoming_call:123456", "handler_failed"
    )
    assert record.exc_info is not None and "database down" in str(record.exc_info[1])
    logged = "\n".join(caplog.text.splitlines())
    assert v["request"]["body"][:40] not in logged and "+1" not in logged  # never the body
    assert views.PROCESSED == []
    assert post(client, "/hooks/limephone", v).status_code == 200
    assert views.PROCESSED == ["limephone:incoming_call:123456"]


def test_the_views_own_response_is_sent_and_the_event_completed(vectors: Any) -> None:
    v = vector(vectors, "lisoloo/doc_envelope_delivered.json")
    client = Client()
    views.OWN_RESPONSE["value"] = True
    own = post(client, "/hooks/lisoloo", v)
    assert (own.status_code, own.content, own["Content-Type"]) == (409, b"not routed here", "text/plain")
    # Lisoloo drops on a 4xx: the contract completes the claim, a redelivery is a duplicate.
    assert post(client, "/hooks/lisoloo", v).json() == {"outcome": "duplicate"}
    assert len(views.PROCESSED) == 1


def test_async_view_runs_and_processes_its_event_once(vectors: Any) -> None:
    v = vector(vectors, "limephone/doc_sms_sent.json")

    async def deliver_twice() -> List[Any]:
        client = AsyncClient()
        first = await post(client, "/hooks/limephone-async", v)
        second = await post(client, "/hooks/limephone-async", v)
        return [first, second]

    first, second = asyncio.run(deliver_twice())
    assert (first.status_code, first.json()) == (200, {"outcome": "accepted"})
    assert (second.status_code, second.json()) == (200, {"outcome": "duplicate"})
    assert views.PROCESSED == ["limephone:sms_sent:234567"]
    # The same async view behind the sync test client (WSGI runs it through async_to_sync).
    caches["default"].clear()
    views.PROCESSED.clear()
    assert post(Client(), "/hooks/limephone-async", v).json() == {"outcome": "accepted"}
    assert views.PROCESSED == ["limephone:sms_sent:234567"]


def test_an_object_whose_call_is_async_is_an_async_view(vectors: Any) -> None:
    """Taken as a sync view, its coroutine was never awaited: a 500 on every delivery (a review)."""
    from django.test import RequestFactory

    v = vector(vectors, "limephone/doc_sms_sent.json")
    seen: List[str] = []

    class Hook:
        async def __call__(self, request: Any, event: Any) -> None:
            seen.append(event["id"])

    view = webhook("limephone", credentials=v["credentials"], clock=lambda: v["now"])(Hook())
    headers = dict(v["request"]["headers"])
    content_type = headers.pop("Content-Type", "application/json")
    request = RequestFactory().post("/hooks/x", data=v["request"]["body"], content_type=content_type,
                                    headers=headers)
    answer = asyncio.run(view(request))
    assert (answer.status_code, json.loads(answer.content)) == (200, {"outcome": "accepted"})
    assert seen == ["limephone:sms_sent:234567"]


def test_async_view_on_the_database_store_claims_in_the_sync_thread(vectors: Any) -> None:
    v = vector(vectors, "limephone/doc_sms_sent.json")

    async def deliver_twice() -> List[Any]:
        client = AsyncClient()
        return [(await post(client, "/hooks/limephone-async-db", v)).json() for _ in range(2)]

    # The ORM refuses to run in the event loop: the store's calls go through sync_to_async.
    assert asyncio.run(deliver_twice()) == [{"outcome": "accepted"}, {"outcome": "duplicate"}]
    assert views.PROCESSED == ["limephone:sms_sent:234567"]
    assert list(DedupeKey.objects.values_list("state", flat=True)) == ["done"]


def test_atomic_view_failure_rolls_back_its_rows_and_the_dedupe_row(vectors: Any) -> None:
    v = vector(vectors, "limephone/doc_incoming_call.json")
    client = Client(raise_request_exception=False)
    views.FAIL_NEXT["value"] = True
    assert post(client, "/hooks/limephone-atomic", v).status_code == 500
    assert Processed.objects.count() == 0  # written by the view, rolled back
    assert DedupeKey.objects.count() == 0
    assert post(client, "/hooks/limephone-atomic", v).json() == {"outcome": "accepted"}
    assert post(client, "/hooks/limephone-atomic", v).json() == {"outcome": "duplicate"}
    assert list(Processed.objects.values_list("event_id", flat=True)) == ["limephone:incoming_call:123456"]
    assert list(DedupeKey.objects.values_list("key", "state")) == [("limephone:incoming_call:123456", "done")]


def test_an_atomic_view_whose_done_mark_fails_rolls_back_and_is_retried(vectors: Any,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """The done mark is written in the view's transaction: when it fails (a statement timeout, a
    serialization failure: PostgreSQL then aborts the transaction, and its commit is a silent
    rollback), the delivery fails with it — 500, the view's rows rolled back — never a 200 over
    writes that did not commit. The provider's retry is handled."""
    from django.db import OperationalError

    from telhook.stores import DjangoDatabaseStore

    v = vector(vectors, "limephone/doc_incoming_call.json")
    client = Client(raise_request_exception=False)

    def fails(self: Any, key: str, token: str, ttl_secs: int) -> None:
        raise OperationalError("canceling statement due to statement timeout")

    with monkeypatch.context() as patched:
        patched.setattr(DjangoDatabaseStore, "complete", fails)
        first = post(client, "/hooks/limephone-atomic", v)
    assert (first.status_code, first.json()) == (500, {"error": "handler_failed"})
    assert Processed.objects.count() == 0 and DedupeKey.objects.count() == 0
    assert post(client, "/hooks/limephone-atomic", v).json() == {"outcome": "accepted"}
    assert post(client, "/hooks/limephone-atomic", v).json() == {"outcome": "duplicate"}
    assert Processed.objects.count() == 1


def test_system_check_warns_about_a_dedupe_cache_that_is_not_shared(redis_url: str) -> None:
    warnings = [m for m in checks.run_checks(tags=[checks.Tags.caches]) if m.id == "telhook.W001"]
    assert len(warnings) == 1 and "LocMemCache" in warnings[0].msg
    for backend in ("django.core.cache.backends.dummy.DummyCache", "django.core.cache.backends.filebased.FileBasedCache"):
        with override_settings(CACHES={"default": {"BACKEND": backend, "LOCATION": "/tmp/telhook-check"}}):
            assert [m.id for m in checks.run_checks(tags=[checks.Tags.caches])] == ["telhook.W001"]
    redis_cache = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": redis_url}}
    with override_settings(CACHES=redis_cache):
        assert [m.id for m in checks.run_checks(tags=[checks.Tags.caches])] == []


def test_decorator_arguments_fail_at_construction() -> None:
    credentials = {"hmac_sha256": ["lime-whsec-CURRENT-5b1e"], "bearer": "lime-bearer-TOKEN-9f8e"}

    class OldStore:  # the add/delete protocol of telhook 0.1
        def add(self, key: str, ttl_seconds: int) -> bool:
            return True

        def delete(self, key: str) -> None:
            pass

    with pytest.raises(TypeError, match="claim/complete/release"):
        webhook("limephone", credentials=credentials, dedupe=OldStore())  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="atomic=True needs a sync view"):

        @webhook("limephone", credentials=credentials, atomic=True)
        async def view(request: Any, event: Any) -> None:
            pass

    # The Flask adapter's form, view(event): every delivery would have been a TypeError.
    with pytest.raises(TypeError, match=r"view\(request, event, \*url_args, \*\*url_kwargs\).*cannot take it"):

        @webhook("limephone", credentials=credentials)
        def flask_style(event: Any) -> None:
            pass

    with pytest.raises(telhook.ConfigurationError) as unset:
        webhook("limephone", credentials={"hmac_sha256": ["x" * 32], "bearer": None})
    assert unset.value.code == "missing_credentials" and "credentials.bearer" in str(unset.value)
    with pytest.raises(telhook.ConfigurationError) as clock:
        webhook("limephone", credentials=credentials, clock=lambda: 1769000000000)  # milliseconds
    assert clock.value.code == "invalid_clock"


def deliver_concurrently(path: str, v: Dict[str, Any], deliveries: int) -> List[Any]:
    barrier = threading.Barrier(deliveries)
    replies: List[Any] = []

    def one() -> None:
        client = Client()
        barrier.wait()
        replies.append(post(client, path, v).json())

    threads = [threading.Thread(target=one) for _ in range(deliveries)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return replies


def test_concurrent_redeliveries_on_real_redis_are_processed_once(vectors: Any, redis_url: str) -> None:
    redis_cache = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": redis_url}}
    with override_settings(CACHES=redis_cache):
        caches["default"].clear()
        v = vector(vectors, "limephone/doc_voicemail_received.json")
        for _ in range(3):  # several rounds: the race must be lost every time
            replies = deliver_concurrently("/hooks/limephone", v, 4)
            assert all(r in ({"outcome": "accepted"}, {"outcome": "duplicate"}, {"error": "delivery_in_progress"})
                       for r in replies)
        assert views.PROCESSED == ["limephone:voicemail_received:567890"]
        # The key really is in Redis, marked done with the provider's dedupe TTL.
        import redis

        client = redis.Redis.from_url(redis_url)
        keys = [k for k in client.keys("*") if k.endswith(b"telhook:limephone:voicemail_received:567890")]
        assert len(keys) == 1
        assert client.get(keys[0]) is not None
        ttl = client.ttl(keys[0])
        assert 86_000 < ttl <= 86_400


def chunked_request(v: Dict[str, Any], input_terminated: bool) -> Any:
    """A chunked delivery as a WSGI server hands it to Django: no CONTENT_LENGTH, and the
    decoded body in wsgi.input only when the server sets wsgi.input_terminated."""
    import io

    from django.core.handlers.wsgi import WSGIRequest
    from django.test import RequestFactory

    body = v["request"]["body"].encode("utf-8")
    environ = RequestFactory()._base_environ(
        REQUEST_METHOD="POST", PATH_INFO="/hooks/lisoloo", CONTENT_TYPE="application/json",
        HTTP_TRANSFER_ENCODING="chunked",
        **{"wsgi.input": io.BytesIO(body), "wsgi.input_terminated": input_terminated},
        **{"HTTP_" + name.upper().replace("-", "_"): value
           for name, value in v["request"]["headers"].items() if name.lower() != "content-type"},
    )
    environ.pop("CONTENT_LENGTH", None)
    return WSGIRequest(environ)


def test_a_chunked_body_the_server_did_not_decode_is_500_never_a_4xx(vectors: Any) -> None:
    # manage.py runserver (wsgiref) has no wsgi.input_terminated: Django reads b"" of a chunked
    # body. A 400 malformed_json would make Lisoloo drop the event; 500 makes it retry.
    v = vector(vectors, "lisoloo/doc_envelope_delivered.json")
    refused = views.lisoloo_hook(chunked_request(v, input_terminated=False))
    assert (refused.status_code, json.loads(refused.content)) == (500, {"error": "raw_body_unavailable"})
    assert views.PROCESSED == []
    accepted = views.lisoloo_hook(chunked_request(v, input_terminated=True))
    assert (accepted.status_code, json.loads(accepted.content)) == (200, {"outcome": "accepted"})


def test_an_atomic_view_releases_a_claim_that_raised_after_it_landed(vectors: Any) -> None:
    """atomic=True with a store outside the transaction (Redis, a cache): a client timeout after
    the server ran the claim. The delivery is answered 503 and the claim released in the
    background, so the retry is handled (it was held off for the whole lease)."""
    import time

    from django.test import RequestFactory

    from failing_stores import LandsThenTimesOut
    from telhook.stores import MemoryStore

    v = vector(vectors, "limephone/doc_sms_sent.json")
    memory, handled = MemoryStore(), []

    def deliver(store: Any) -> Any:
        @webhook("limephone", credentials=v["credentials"], store=store, atomic=True)
        def view(request: Any, event: Any) -> None:
            handled.append(event["id"])

        headers = dict(v["request"]["headers"])
        content_type = headers.pop("Content-Type", "application/json")
        meta = {"HTTP_" + name.upper().replace("-", "_"): value for name, value in headers.items()}
        return view(RequestFactory().post("/hook", data=v["request"]["body"].encode(), content_type=content_type, **meta))

    first = deliver(LandsThenTimesOut(memory))
    assert (first.status_code, first.content) == (503, b'{"error":"dedupe_unavailable"}')
    time.sleep(0.3)  # the +0 release, in its thread
    again = deliver(memory)
    assert (again.status_code, json.loads(again.content), len(handled)) == (200, {"outcome": "accepted"}, 1)


def test_a_release_thread_closes_the_database_connection_it_opened(vectors: Any, monkeypatch: pytest.MonkeyPatch
                                                                    ) -> None:
    """DjangoDatabaseStore's claim raised after it landed: its release runs in a thread of its
    own, which opens a connection of its own (Django's are per thread). Released, and closed
    when the thread ends: Django closes none when a thread ends."""
    from django.db import connections

    from telhook import _receive

    monkeypatch.setattr(_receive, "time", type("NoWaits", (), {"sleep": staticmethod(lambda seconds: None)}))

    from telhook.stores import DjangoDatabaseStore

    v = vector(vectors, "limephone/doc_sms_sent.json")
    seen: List[Any] = []

    class LandsThenTimesOut(DjangoDatabaseStore):
        def claim(self, key: str, token: str, lease_secs: int) -> Any:
            super().claim(key, token, lease_secs)
            raise TimeoutError("the reply did not come in time")

        def release(self, key: str, token: str) -> None:
            seen.append((threading.current_thread().name, connections["default"]))
            super().release(key, token)

    receiver = telhook.Receiver("limephone", v["credentials"], clock=lambda: v["now"])
    request = v["request"]
    answer = telhook.receive(receiver, method="POST", url=None, headers=request["headers"],
                             body=request["body"].encode(), handler=lambda event: None, store=LandsThenTimesOut())
    for thread in threading.enumerate():
        if thread.name == "telhook-release-claim":
            thread.join(10)
    assert answer.status == 503 and DedupeKey.objects.count() == 0, "released"
    # The failed claim's three releases (+0, +1, +6 s), in one thread, on its own connection.
    assert [name for name, _ in seen] == ["telhook-release-claim"] * 3
    thread_connection = seen[0][1]
    assert thread_connection is not connections["default"]
    assert thread_connection.connection is None, "the thread's connection was closed"


def test_headers_are_read_from_meta_as_request_headers_names_them() -> None:
    from django.test import RequestFactory

    from telhook.django import _meta_header_pairs

    request = RequestFactory().post(
        "/hooks", data=b'{"a": 1}', content_type="application/json",
        HTTP_X_LIMEPHONE_SIGNATURE="sig", HTTP_AUTHORIZATION="Basic abc", HTTP_X_FORWARDED_PROTO="https",
    )
    pairs = _meta_header_pairs(request.META)
    assert sorted(pairs) == sorted((name.lower(), value) for name, value in request.headers.items())
    assert ("x-limephone-signature", "sig") in pairs and ("content-type", "application/json") in pairs
    assert not any(name.startswith(("server", "wsgi", "request")) for name, _ in pairs)


# ATOMIC_REQUESTS: the view runs in the request's transaction, which telhook does not own.
class _OutageThenUp:
    """A dedupe store outside the database whose next `outage` completes fail, then work."""

    def __init__(self) -> None:
        from telhook.stores import MemoryStore

        self.memory = MemoryStore()
        self.outage = 0
        self.completes: List[str] = []

    def claim(self, key: str, token: str, lease_secs: int) -> Any:
        return self.memory.claim(key, token, lease_secs)

    def complete(self, key: str, token: str, ttl_secs: int) -> None:
        self.completes.append(threading.current_thread().name)
        if self.outage > 0:
            self.outage -= 1
            raise ConnectionError("connection reset by peer")
        self.memory.complete(key, token, ttl_secs)

    def release(self, key: str, token: str) -> None:
        self.memory.release(key, token)


_OUTSIDE = _OutageThenUp()
_LIME_CREDENTIALS = {"hmac_sha256": ["lime-whsec-CURRENT-5b1e"], "bearer": "lime-bearer-TOKEN-9f8e"}


@webhook("limephone", credentials=_LIME_CREDENTIALS, store=__import__("telhook.stores").stores.DjangoDatabaseStore())
def _in_transaction_view(request: Any, event: Any) -> None:
    Processed.objects.create(event_id=event["id"], view="atomic-requests")


@webhook("limephone", credentials=_LIME_CREDENTIALS, store=_OUTSIDE)
def _outside_store_view(request: Any, event: Any) -> None:
    Processed.objects.create(event_id=event["id"], view="atomic-requests")


def _atomic_requests_urls() -> Any:
    from django.urls import path

    return type("Urls", (), {"urlpatterns": [path("db", _in_transaction_view), path("outside", _outside_store_view)]})


@pytest.fixture
def atomic_requests() -> Iterator[None]:
    from django.db import connections

    connections["default"].settings_dict["ATOMIC_REQUESTS"] = True
    try:
        with override_settings(ROOT_URLCONF=_atomic_requests_urls()):
            yield
    finally:
        connections["default"].settings_dict["ATOMIC_REQUESTS"] = False


def _join_settle_threads() -> None:
    for thread in threading.enumerate():
        if thread.name == "telhook-settle-claim":
            thread.join(10)


def test_atomic_requests_a_done_mark_that_fails_in_the_transaction_keeps_the_views_writes_and_is_tried_again(
        vectors: Any, atomic_requests: None) -> None:
    """DjangoDatabaseStore in the request's transaction: its UPDATE fails as a statement timeout
    does. In a savepoint, it leaves the transaction able to commit the view's writes (before,
    PostgreSQL aborted it: the commit was a silent rollback behind a 200, the event lost), and
    the done mark is tried again once they are in: the redelivery is a duplicate."""
    from django.db import OperationalError, connection

    v = vector(vectors, "limephone/doc_incoming_call.json")
    client = Client(raise_request_exception=False)
    failing = {"left": 1}

    def statement_timeout(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        if failing["left"] and sql.lstrip().upper().startswith("UPDATE") and "dedupe" in sql.lower():
            failing["left"] -= 1
            raise OperationalError("canceling statement due to statement timeout")
        return execute(sql, params, many, context)

    with connection.execute_wrapper(statement_timeout):
        first = post(client, "/db", v)
    _join_settle_threads()
    assert (first.status_code, first.json(), failing["left"]) == (200, {"outcome": "accepted"}, 0)
    assert Processed.objects.count() == 1
    assert list(DedupeKey.objects.values_list("state", flat=True)) == ["done"]
    assert post(client, "/db", v).json() == {"outcome": "duplicate"}
    assert Processed.objects.count() == 1


def test_atomic_requests_a_done_mark_that_fails_after_the_commit_is_tried_again(
        vectors: Any, atomic_requests: None) -> None:
    """A store outside the transaction marks the event done after the commit: when that fails
    (an outage of a few seconds), it is tried again, so the provider's redelivery is a
    duplicate, not 503 for the whole lease and then a second run."""
    v = vector(vectors, "limephone/doc_incoming_call.json")
    _OUTSIDE.memory, _OUTSIDE.outage, _OUTSIDE.completes = type(_OUTSIDE.memory)(), 2, []
    client = Client(raise_request_exception=False)
    first = post(client, "/outside", v)
    _join_settle_threads()
    assert first.json() == {"outcome": "accepted"}
    assert _OUTSIDE.completes[1:] == ["telhook-settle-claim"] * 2, _OUTSIDE.completes
    assert post(client, "/outside", v).json() == {"outcome": "duplicate"}
    assert Processed.objects.count() == 1


def test_an_async_view_under_atomic_requests_is_a_system_check_error_unless_marked_non_atomic(
        vectors: Any, caplog: pytest.LogCaptureFixture) -> None:
    """Django answers every request of an async view 500 under ATOMIC_REQUESTS (a review: a
    Twilio receiver lost every event): the system check telhook.E001 (run by runserver, migrate,
    check and test) names the view and the database; a view marked @transaction.non_atomic_requests
    above or beneath @webhook passes it, and is handled."""
    from django.core.checks import run_checks
    from django.db import connections, transaction
    from django.urls import path

    v = vector(vectors, "limephone/doc_incoming_call.json")
    handled: List[str] = []
    options: Dict[str, Any] = dict(credentials=v["credentials"], clock=lambda: v["now"])

    @webhook("limephone", store=telhook.MemoryStore(), **options)
    async def unmarked(request: Any, event: Any) -> None:
        handled.append(event["id"])

    @transaction.non_atomic_requests
    @webhook("limephone", store=telhook.MemoryStore(), **options)
    async def marked_above(request: Any, event: Any) -> None:
        handled.append(event["id"])

    @webhook("limephone", store=telhook.MemoryStore(), **options)
    @transaction.non_atomic_requests
    async def marked_beneath(request: Any, event: Any) -> None:
        handled.append(event["id"])

    def e001(*views: Any) -> List[str]:
        urls = type("Urls", (), {"urlpatterns": [path(f"v{i}", view) for i, view in enumerate(views)]})
        with override_settings(ROOT_URLCONF=urls):
            return [message.msg for message in run_checks() if message.id == "telhook.E001"]

    assert e001(unmarked, marked_above, marked_beneath) == [], "ATOMIC_REQUESTS off: nothing to say"
    connections["default"].settings_dict["ATOMIC_REQUESTS"] = True
    try:
        # Said at import too, for servers that run no system checks (gunicorn, uvicorn).
        with caplog.at_level(logging.WARNING, logger="telhook"):
            @webhook("limephone", store=telhook.MemoryStore(), **options)
            async def decorated_under_atomic_requests(request: Any, event: Any) -> None:
                return None
        [warned] = [r.getMessage() for r in caplog.records if "telhook.E001" in r.getMessage()]
        assert "decorated_under_atomic_requests is decorated under ATOMIC_REQUESTS (databases 'default')" in warned
        [error] = e001(unmarked, marked_above, marked_beneath)
        assert "unmarked runs under ATOMIC_REQUESTS (databases 'default')" in error, error
        urls = type("Urls", (), {"urlpatterns": [path("above", marked_above), path("beneath", marked_beneath)]})
        request = v["request"]
        headers = {k: val for k, val in request["headers"].items() if k.lower() != "content-type"}
        with override_settings(ROOT_URLCONF=urls):
            for url in ("/above", "/beneath"):
                response = asyncio.run(AsyncClient().post(url, data=request["body"].encode(),
                                                          content_type=request["headers"].get("Content-Type", "application/json"),
                                                          headers=headers))
                assert response.status_code == 200, (url, response.content)
        assert handled == [v["expect"]["event"]["id"]] * 2
    finally:
        connections["default"].settings_dict["ATOMIC_REQUESTS"] = False
