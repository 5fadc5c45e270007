"""Handler patterns users write, through the Flask, Starlette and Django adapters: a Flask
status tuple, a handler that reads the request body, a body-detection false positive and a
missed one, and Django's ATOMIC_REQUESTS."""

from __future__ import annotations

import json
import pathlib
import uuid
from typing import Any, Dict, Iterator, List

import flask
import pytest
from django.db import connection, connections
from django.test import Client, TestCase, override_settings
from django.urls import path
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.routing import Route
from starlette.testclient import TestClient

from telhook.stores import MemoryStore

ROOT = pathlib.Path(__file__).resolve().parents[2]
LISOLOO = json.loads((ROOT / "tests" / "vectors" / "lisoloo" / "doc_envelope_delivered.json").read_text())
CREDENTIALS: Dict[str, Any] = LISOLOO["credentials"]
HEADERS: Dict[str, str] = LISOLOO["request"]["headers"]
FORM = {**HEADERS, "Content-Type": "application/x-www-form-urlencoded"}
UNAVAILABLE = {"error": "raw_body_unavailable"}


def fresh_body() -> bytes:
    return json.dumps({**json.loads(LISOLOO["request"]["body"]), "event_id": str(uuid.uuid4())}).encode()


def test_a_flask_status_tuple_decides_the_answer() -> None:
    """`return "database unavailable", 503` is Flask's own way to fail: never a 200 "accepted"
    whose redelivery is a "duplicate" (the event lost)."""
    from telhook.flask import webhook

    app = flask.Flask(__name__)
    calls: List[str] = []

    @app.route("/hooks/lisoloo")
    @webhook("lisoloo", credentials=CREDENTIALS, store=MemoryStore())
    def hook(event: Any) -> Any:
        calls.append(event["id"])
        return ("database unavailable", 503) if len(calls) == 1 else (flask.jsonify(ok=True), 200)

    client = app.test_client()
    body = fresh_body()
    first = client.post("/hooks/lisoloo", data=body, headers=HEADERS)
    assert (first.status_code, first.get_data()) == (503, b"database unavailable")
    retry = client.post("/hooks/lisoloo", data=body, headers=HEADERS)
    assert (retry.status_code, retry.get_json()) == (200, {"ok": True})
    assert len(calls) == 2  # the retry was processed
    again = client.post("/hooks/lisoloo", data=body, headers=HEADERS)
    assert again.get_json() == {"outcome": "duplicate"}


@pytest.mark.parametrize("gzipped", [False, True])
def test_the_handler_can_read_the_request_body_it_was_called_for(gzipped: bool) -> None:
    """Sent gzipped, the body given back is the one the core inflated (the gzip member made
    every such delivery's get_json() fail: a 500 on every retry)."""
    import gzip

    from telhook.django import webhook as django_webhook
    from telhook.flask import webhook as flask_webhook
    from telhook.starlette import webhook as starlette_webhook

    seen: List[str] = []
    app = flask.Flask(__name__)

    @app.before_request
    def log_the_body() -> None:
        # Read before telhook (a logging hook): the handler still reads the body inflated.
        flask.request.get_data()
        dict(flask.request.values)  # caches request.content_length

    @app.route("/hooks/lisoloo")
    @flask_webhook("lisoloo", credentials=CREDENTIALS, store=MemoryStore())
    def flask_hook(event: Any) -> None:
        assert flask.request.headers.get("Content-Encoding") is None or not gzipped
        assert flask.request.content_length == len(flask.request.get_data())
        seen.append("flask:" + flask.request.get_json()["event_id"])

    json_body = fresh_body()
    body = gzip.compress(json_body) if gzipped else json_body
    headers = {**HEADERS, "Content-Encoding": "gzip"} if gzipped else HEADERS
    reply = app.test_client().post("/hooks/lisoloo", data=body, headers=headers)
    assert (reply.status_code, reply.get_json()) == (200, {"outcome": "accepted"})

    @starlette_webhook("lisoloo", credentials=CREDENTIALS, store=MemoryStore())
    async def starlette_hook(request: Request, event: Any) -> None:
        body = await request.body()
        assert "content-encoding" not in request.headers or not gzipped
        assert request.headers["content-length"] == str(len(body))
        seen.append("starlette:" + (await request.json())["event_id"])

    with TestClient(Starlette(routes=[Route("/hooks/lisoloo", starlette_hook, methods=["POST"])])) as client:
        reply = client.post("/hooks/lisoloo", content=body, headers=headers)
    assert (reply.status_code, reply.json()) == (200, {"outcome": "accepted"})

    from django.test import RequestFactory

    @django_webhook("lisoloo", credentials=CREDENTIALS, store=MemoryStore())
    def django_view(request: Any, event: Any) -> None:
        assert "Content-Encoding" not in request.headers or not gzipped
        assert request.headers["Content-Length"] == str(len(request.body))
        seen.append("django:" + json.loads(request.body)["event_id"])

    coding = {"Content-Encoding": "gzip"} if gzipped else {}
    request = RequestFactory().post("/hooks/lisoloo", data=body, content_type="application/json",
                                    headers={"Authorization": HEADERS["Authorization"], **coding})
    assert request.body == body  # read before telhook (a middleware): the view reads it inflated
    response = django_view(request)
    assert (response.status_code, json.loads(response.content)) == (200, {"outcome": "accepted"})
    event_id = json.loads(json_body)["event_id"]
    assert seen == [f"flask:{event_id}", f"starlette:{event_id}", f"django:{event_id}"]


@pytest.mark.parametrize(
    "touch, headers, expected",
    [
        # request.form on a JSON body reads nothing: the delivery is verified, not a 500.
        ("form", HEADERS, (200, {"outcome": "accepted"})),
        # request.data on a form body parses the form first and caches b"": 500, never the
        # 400 (Lisoloo: dropped) or 401 (Twilio) of verifying an empty body.
        ("data", FORM, (500, UNAVAILABLE)),
    ],
)
def test_flask_knows_which_bodies_a_form_parser_consumed(touch: str, headers: Dict[str, str], expected: Any) -> None:
    from telhook.flask import webhook

    app = flask.Flask(__name__)

    @app.before_request
    def audit() -> None:
        if touch == "form":
            flask.request.form.get("source")
        else:
            flask.request.data

    @app.route("/hooks/lisoloo")
    @webhook("lisoloo", credentials=CREDENTIALS, store=MemoryStore())
    def hook(event: Any) -> None:
        pass

    reply = app.test_client().post("/hooks/lisoloo", data=fresh_body(), headers=headers)
    assert (reply.status_code, reply.get_json()) == expected


def test_flask_chunked_body_on_a_server_that_cannot_read_it_is_500() -> None:
    """wsgiref passes a chunked body undecoded and sets no wsgi.input_terminated: Werkzeug
    hands an empty stream, which must not reach the core (400: Lisoloo drops the event)."""
    from telhook.flask import webhook

    app = flask.Flask(__name__)

    @app.route("/hooks/lisoloo")
    @webhook("lisoloo", credentials=CREDENTIALS, store=MemoryStore())
    def hook(event: Any) -> None:
        pass

    reply = app.test_client().post("/hooks/lisoloo", data=fresh_body(), headers=HEADERS,
                                   environ_overrides={"CONTENT_LENGTH": "", "HTTP_TRANSFER_ENCODING": "chunked"})
    assert (reply.status_code, reply.get_json()) == (500, UNAVAILABLE)


def test_starlette_a_body_a_middleware_streamed_first_is_500_never_a_400() -> None:
    """A BaseHTTPMiddleware that streams the body (a byte counter, request.form()) hands the
    app an empty body in its place: verified by Basic auth alone, it would be a 400 on which
    Lisoloo drops the event."""
    from starlette.middleware import Middleware
    from starlette.middleware.base import BaseHTTPMiddleware

    from telhook.starlette import webhook

    class CountBytes(BaseHTTPMiddleware):
        async def dispatch(self, request: Request, call_next: Any) -> Any:
            async for _ in request.stream():
                pass
            return await call_next(request)

    @webhook("lisoloo", credentials=CREDENTIALS, store=MemoryStore())
    async def hook(request: Request, event: Any) -> None:
        pass

    app = Starlette(routes=[Route("/hooks/lisoloo", hook, methods=["POST"])], middleware=[Middleware(CountBytes)])
    with TestClient(app) as client:
        reply = client.post("/hooks/lisoloo", content=fresh_body(), headers=HEADERS)
    assert (reply.status_code, reply.json()) == (500, UNAVAILABLE)


# ---------------------------------------------------------------- Django ATOMIC_REQUESTS

ATTEMPTS: List[str] = []


def _write(event: Any, customer: Any) -> None:
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO handler_sms (event_id, customer_id) VALUES (%s, %s)", [event["id"], customer])


def _views() -> List[Any]:
    from telhook.django import webhook

    @webhook("lisoloo", credentials=CREDENTIALS, store=MemoryStore())
    def write_then_fail(request: Any, event: Any) -> None:
        ATTEMPTS.append(event["id"])
        _write(event, None)
        if len(ATTEMPTS) == 1:
            raise RuntimeError("the SMS gateway timed out")

    def fails_at_commit(request: Any, event: Any) -> None:
        _write(event, 999)  # no such customer: a deferred constraint, checked at COMMIT

    cached = webhook("lisoloo", credentials=CREDENTIALS)(fails_at_commit)
    atomic = webhook("lisoloo", credentials=CREDENTIALS, store=MemoryStore(), atomic=True)(fails_at_commit)
    plain = webhook("lisoloo", credentials=CREDENTIALS, store=MemoryStore())(lambda request, event: None)
    return [path("partial", write_then_fail), path("commit", cached), path("commit_atomic", atomic), path("plain", plain)]


urlpatterns = _views()


@pytest.fixture()
def atomic_requests() -> Iterator[None]:
    ATTEMPTS.clear()
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE handler_customer (id INTEGER PRIMARY KEY)")
        cursor.execute("CREATE TABLE handler_sms (id INTEGER PRIMARY KEY, event_id TEXT, customer_id INTEGER "
                       "REFERENCES handler_customer(id) DEFERRABLE INITIALLY DEFERRED)")
    connections["default"].settings_dict["ATOMIC_REQUESTS"] = True
    try:
        with override_settings(ROOT_URLCONF=__name__):
            yield
    finally:
        connections["default"].settings_dict["ATOMIC_REQUESTS"] = False
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE handler_sms")
            cursor.execute("DROP TABLE handler_customer")


def _rows(body: bytes) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM handler_sms WHERE event_id = %s", ["lisoloo:" + json.loads(body)["event_id"]])
        return int(cursor.fetchone()[0])


def _post(url: str, body: bytes) -> Any:
    return Client(raise_request_exception=False).post(url, data=body, content_type="application/json",
                                                      headers={"Authorization": HEADERS["Authorization"]})


def test_atomic_requests_a_failed_view_commits_none_of_its_writes(atomic_requests: None) -> None:
    body = fresh_body()
    assert _post("/partial", body).status_code == 500
    assert _rows(body) == 0  # the request's transaction did not commit the failed attempt's write
    assert _post("/partial", body).status_code == 200
    assert _rows(body) == 1  # processed once


@pytest.mark.parametrize("url", ["/commit", "/commit_atomic"])
def test_atomic_requests_an_event_is_not_done_before_its_writes_commit(atomic_requests: None, url: str) -> None:
    body = fresh_body()
    assert _post(url, body).status_code == 500  # the commit failed: Django's own 500
    retry = _post(url, body)
    assert retry.json() != {"outcome": "duplicate"}  # not done: the event is kept
    assert retry.status_code >= 500  # the provider retries (503 until the claim's lease ends)


@override_settings(ROOT_URLCONF=__name__)
class AtomicRequestsInATestCase(TestCase):
    """Inside a TestCase nothing commits and on_commit callbacks never run: a user's test that
    sends one event twice must still see "duplicate", not 503 "in progress"."""

    def setUp(self) -> None:
        connections["default"].settings_dict["ATOMIC_REQUESTS"] = True

    def tearDown(self) -> None:
        connections["default"].settings_dict["ATOMIC_REQUESTS"] = False

    def test_a_redelivery_is_a_duplicate(self) -> None:
        body = fresh_body()
        assert _post("/plain", body).json() == {"outcome": "accepted"}
        assert _post("/plain", body).json() == {"outcome": "duplicate"}
