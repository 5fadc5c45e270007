"""telhook.flask and telhook.starlette beyond the handler vectors: the view's own response,
Flask's got_request_exception, a plain Starlette Route, programmer errors at decoration."""

from __future__ import annotations

import functools
import io
import json
import pathlib
from typing import Any, Dict, List

import flask
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from telhook.stores import MemoryStore
from vector_reader import code_of

ROOT = pathlib.Path(__file__).resolve().parents[2]
LISOLOO = json.loads((ROOT / "tests" / "vectors" / "lisoloo" / "doc_envelope_delivered.json").read_text())
CREDENTIALS: Dict[str, Any] = LISOLOO["credentials"]
REQUEST = LISOLOO["request"]


def test_flask_own_response_signal_and_retry() -> None:
    from telhook.flask import webhook

    app = flask.Flask(__name__)
    behaviour: List[str] = ["raise", "own"]
    signalled: List[BaseException] = []

    @app.post("/hooks/lisoloo")
    @webhook("lisoloo", credentials=CREDENTIALS, store=MemoryStore())
    def hook(event: Any) -> Any:
        if behaviour.pop(0) == "raise":
            raise RuntimeError("database down")
        return flask.Response("routed elsewhere", status=409, mimetype="text/plain")

    def on_exception(sender: Any, exception: BaseException, **extra: Any) -> None:
        signalled.append(exception)

    flask.got_request_exception.connect(on_exception, app)
    client = app.test_client()
    failed = client.post("/hooks/lisoloo", data=REQUEST["body"], headers=REQUEST["headers"])
    assert (failed.status_code, failed.get_json()) == (500, {"error": "handler_failed"})
    assert [str(e) for e in signalled] == ["database down"]
    own = client.post("/hooks/lisoloo", data=REQUEST["body"], headers=REQUEST["headers"])
    assert (own.status_code, own.get_data(), own.mimetype) == (409, b"routed elsewhere", "text/plain")
    # Lisoloo drops on a 4xx, so the claim was completed: the redelivery is a duplicate.
    again = client.post("/hooks/lisoloo", data=REQUEST["body"], headers=REQUEST["headers"])
    assert again.get_json() == {"outcome": "duplicate"}


def test_flask_refuses_an_async_view() -> None:
    from telhook.flask import webhook

    with pytest.raises(TypeError, match="sync view"):

        @webhook("lisoloo", credentials=CREDENTIALS, store=MemoryStore())
        async def hook(event: Any) -> None:
            pass


def test_a_handler_that_cannot_take_what_its_adapter_passes_is_refused_at_decoration() -> None:
    """Each adapter's signature is refused when it is another adapter's (a review: a Flask view
    written (request, event) failed every delivery with a TypeError, and Twilio and the DID
    reseller do not retry), and an object whose __call__ is async is refused by Flask."""
    from telhook import flask as flask_adapter
    from telhook import starlette as starlette_adapter

    flask_webhook = flask_adapter.webhook("lisoloo", credentials=CREDENTIALS, store=MemoryStore())
    starlette_webhook = starlette_adapter.webhook("lisoloo", credentials=CREDENTIALS, store=MemoryStore())

    def django_style(request: Any, event: Any) -> None:
        pass

    def flask_style(event: Any) -> None:
        pass

    async def async_flask_style(event: Any) -> None:
        pass

    def with_url_value(event: Any, tenant: str) -> None:
        pass

    class AsyncCallable:
        async def __call__(self, event: Any) -> None:
            pass

    with pytest.raises(TypeError, match=r"view\(event, \*\*url_values\).*'event'"):
        flask_webhook(django_style)
    with pytest.raises(TypeError, match="sync view"):
        flask_webhook(AsyncCallable())
    for handler in (flask_style, async_flask_style):
        with pytest.raises(TypeError, match=r"handler\(request, event\).*cannot take it"):
            starlette_webhook(handler)
    # What each takes is still taken, also behind a decorator whose wrapper supplies arguments
    # of its own (its signature, not the inner function's, is what the adapter calls).
    def with_session(view: Any) -> Any:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            return view("session", *args, **kwargs)

        return wrapper

    @with_session
    def flask_view_with_session(session: Any, event: Any, tenant: str) -> None:
        pass

    flask_webhook(flask_style)
    flask_webhook(with_url_value)
    flask_webhook(flask_view_with_session)
    starlette_webhook(django_style)


def test_starlette_route_sync_handler_and_own_response() -> None:
    from telhook.starlette import webhook

    seen: List[str] = []

    @webhook("lisoloo", credentials=CREDENTIALS, store=MemoryStore())
    def hook(request: Request, event: Any) -> Any:  # a sync handler works too
        seen.append(event["id"])
        return PlainTextResponse("thanks", status_code=202)

    app = Starlette(routes=[Route("/hooks/lisoloo", hook, methods=["GET", "POST"])])
    with TestClient(app) as client:
        own = client.post("/hooks/lisoloo", content=REQUEST["body"], headers=REQUEST["headers"])
        assert (own.status_code, own.text) == (202, "thanks")
        again = client.post("/hooks/lisoloo", content=REQUEST["body"], headers=REQUEST["headers"])
        assert (again.status_code, again.json()) == (200, {"outcome": "duplicate"})
        get = client.get("/hooks/lisoloo")
        assert (get.status_code, get.headers["allow"], get.json()) == (405, "POST", {"error": "method_not_allowed"})
    assert len(seen) == 1


def test_decorators_check_their_arguments() -> None:
    from telhook.flask import webhook as flask_webhook
    from telhook.starlette import webhook as starlette_webhook

    for decorator in (flask_webhook, starlette_webhook):
        with pytest.raises(TypeError, match="claim, complete and release"):
            decorator("lisoloo", credentials=CREDENTIALS, store=object())  # type: ignore[arg-type]


FORM = {**REQUEST["headers"], "Content-Type": "application/x-www-form-urlencoded"}
UNAVAILABLE = {"error": "raw_body_unavailable"}


def test_a_body_consumed_before_the_adapter_is_500_never_a_401() -> None:
    """A form parser that ran first leaves no raw body to verify: 500 (the provider retries
    once the app is fixed), not 401 (Lisoloo drops the event on any 4xx)."""
    from django.test import RequestFactory

    from telhook.django import webhook as django_webhook
    from telhook.flask import webhook as flask_webhook
    from telhook.starlette import webhook as starlette_webhook

    calls: List[str] = []

    @django_webhook("lisoloo", credentials=CREDENTIALS, store=MemoryStore())
    def django_view(request: Any, event: Any) -> None:
        calls.append("django")

    request = RequestFactory().post("/hooks/lisoloo", data={"field": "value"},
                                    headers={"Authorization": REQUEST["headers"]["Authorization"]})
    assert request.POST["field"] == "value"  # a middleware parsed the multipart body
    response = django_view(request)
    assert (response.status_code, json.loads(response.content)) == (500, UNAVAILABLE)

    app = flask.Flask(__name__)

    @app.before_request
    def parse_form() -> None:
        flask.request.form.get("anything")

    @app.post("/hooks/lisoloo")
    @flask_webhook("lisoloo", credentials=CREDENTIALS, store=MemoryStore())
    def flask_view(event: Any) -> None:
        calls.append("flask")

    flask_reply = app.test_client().post("/hooks/lisoloo", data=REQUEST["body"], headers=FORM)
    assert (flask_reply.status_code, flask_reply.get_json()) == (500, UNAVAILABLE)

    @starlette_webhook("lisoloo", credentials=CREDENTIALS, store=MemoryStore())
    async def starlette_hook(request: Request, event: Any) -> None:
        calls.append("starlette")

    async def parse_form_first(request: Request) -> Any:
        async for _ in request.stream():  # what a form parser does; it keeps no copy
            pass
        return await starlette_hook(request)

    with TestClient(Starlette(routes=[Route("/hooks/lisoloo", parse_form_first, methods=["POST"])])) as client:
        starlette_reply = client.post("/hooks/lisoloo", content=REQUEST["body"], headers=FORM)
    assert (starlette_reply.status_code, starlette_reply.json()) == (500, UNAVAILABLE)
    assert calls == []


def test_a_body_read_before_the_adapter_is_still_verified() -> None:
    from telhook.flask import webhook as flask_webhook

    app = flask.Flask(__name__)

    @app.before_request
    def read_json() -> None:
        flask.request.get_json()  # keeps a copy of the raw body

    @app.post("/hooks/lisoloo")
    @flask_webhook("lisoloo", credentials=CREDENTIALS, store=MemoryStore())
    def flask_view(event: Any) -> None:
        pass

    reply = app.test_client().post("/hooks/lisoloo", data=REQUEST["body"], headers=REQUEST["headers"])
    assert (reply.status_code, reply.get_json()) == (200, {"outcome": "accepted"})


def test_ordinary_return_values_are_success_in_flask_and_fastapi() -> None:
    import fastapi

    from telhook.flask import webhook as flask_webhook
    from telhook.starlette import webhook as starlette_webhook

    flask_app = flask.Flask(__name__)
    flask_calls: List[str] = []

    @flask_app.post("/hooks/lisoloo")
    @flask_webhook("lisoloo", credentials=CREDENTIALS, store=MemoryStore())
    def flask_hook(event: Any) -> str:
        flask_calls.append(event["id"])
        return "ok"

    client = flask_app.test_client()
    for expected in ({"outcome": "accepted"}, {"outcome": "duplicate"}):
        reply = client.post("/hooks/lisoloo", data=REQUEST["body"], headers=REQUEST["headers"])
        assert (reply.status_code, reply.get_json()) == (200, expected)
    assert len(flask_calls) == 1

    api = fastapi.FastAPI()
    api_calls: List[str] = []

    @api.post("/hooks/lisoloo")
    @starlette_webhook("lisoloo", credentials=CREDENTIALS, store=MemoryStore())
    async def api_hook(request: Request, event: Any) -> Dict[str, bool]:
        api_calls.append(event["id"])
        return {"ok": True}

    with TestClient(api) as api_client:
        for expected in ({"outcome": "accepted"}, {"outcome": "duplicate"}):
            reply = api_client.post("/hooks/lisoloo", content=REQUEST["body"], headers=REQUEST["headers"])
            assert (reply.status_code, reply.json()) == (200, expected)
    assert len(api_calls) == 1


def test_starlette_runs_a_sync_handler_off_the_event_loop() -> None:
    import asyncio

    from telhook.starlette import webhook

    loops: List[bool] = []

    @webhook("lisoloo", credentials=CREDENTIALS, store=MemoryStore())
    def hook(request: Request, event: Any) -> None:
        try:
            asyncio.get_running_loop()
            loops.append(True)  # on the event loop: a slow handler would block every request
        except RuntimeError:
            loops.append(False)

    app = Starlette(routes=[Route("/hooks/lisoloo", hook, methods=["POST"])])
    with TestClient(app) as client:
        reply = client.post("/hooks/lisoloo", content=REQUEST["body"], headers=REQUEST["headers"])
    assert (reply.status_code, reply.json()) == (200, {"outcome": "accepted"})
    assert loops == [False]


def test_a_bodiless_answer_is_sent_without_body_or_content_type_by_every_adapter() -> None:
    # The core answers a handler's 204 or 304 with no body and no content type; Django and
    # Flask would otherwise add text/html.
    from telhook import django as telhook_django
    from telhook import flask as telhook_flask
    from telhook import starlette as telhook_starlette
    from telhook._receive import Answer

    for status in (204, 304):
        answer = Answer(status, "handler_status", (), b"", None, "complete", "none")
        sent_by_django = telhook_django._http_response(answer)
        assert (sent_by_django.status_code, sent_by_django.content, sent_by_django.has_header("Content-Type")) == (
            status, b"", False)
        with flask.Flask(__name__).app_context():
            sent_by_flask = telhook_flask._response(answer)
        assert (sent_by_flask.status_code, sent_by_flask.get_data(), "Content-Type" in sent_by_flask.headers) == (
            status, b"", False)
        sent_by_starlette = telhook_starlette._response(answer)
        assert (sent_by_starlette.status_code, sent_by_starlette.body) == (status, b"")
        assert "content-type" not in sent_by_starlette.headers and "content-length" not in sent_by_starlette.headers



def test_flask_passes_url_variables_to_the_view() -> None:
    from telhook.flask import webhook

    app = flask.Flask(__name__)
    seen: List[Any] = []

    @app.post("/t/<tenant>/hooks")
    @webhook("lisoloo", credentials=CREDENTIALS, store=MemoryStore())
    def hook(event: Any, tenant: str) -> None:
        seen.append((tenant, event["provider"]))

    reply = app.test_client().post("/t/acme/hooks", data=REQUEST["body"], headers=REQUEST["headers"])
    assert (reply.status_code, reply.get_json()) == (200, {"outcome": "accepted"})
    assert seen == [("acme", "lisoloo")]


def test_flask_route_sends_every_method_to_telhook_for_the_json_405() -> None:
    from telhook.flask import webhook

    app = flask.Flask(__name__)

    @app.route("/hooks/lisoloo")
    @webhook("lisoloo", credentials=CREDENTIALS, store=MemoryStore())
    def hook(event: Any) -> None:
        pass

    client = app.test_client()
    for method in ("GET", "PUT", "DELETE", "OPTIONS"):
        reply = client.open("/hooks/lisoloo", method=method)
        assert (reply.status_code, reply.get_json(), reply.headers.get("Allow")) == (
            405, {"error": "method_not_allowed"}, "POST"), method
    accepted = client.post("/hooks/lisoloo", data=REQUEST["body"], headers=REQUEST["headers"])
    assert (accepted.status_code, accepted.get_json()) == (200, {"outcome": "accepted"})


def test_a_handlers_204_reaches_the_client_with_no_body_or_content_type() -> None:
    from django.test import RequestFactory

    from telhook import django as telhook_django
    from telhook import flask as telhook_flask
    from telhook import starlette as telhook_starlette

    flask_app = flask.Flask(__name__)

    @flask_app.post("/hooks/lisoloo")
    @telhook_flask.webhook("lisoloo", credentials=CREDENTIALS, store=MemoryStore())
    def flask_hook(event: Any) -> int:
        return 204

    sent = flask_app.test_client().post("/hooks/lisoloo", data=REQUEST["body"], headers=REQUEST["headers"])
    assert (sent.status_code, sent.get_data(), sent.headers.get("Content-Type")) == (204, b"", None)

    @telhook_starlette.webhook("lisoloo", credentials=CREDENTIALS, store=MemoryStore())
    async def starlette_hook(request: Request, event: Any) -> int:
        return 204

    with TestClient(Starlette(routes=[Route("/hooks/lisoloo", starlette_hook, methods=["POST"])])) as client:
        sent_by_starlette = client.post("/hooks/lisoloo", content=REQUEST["body"], headers=REQUEST["headers"])
    assert (sent_by_starlette.status_code, sent_by_starlette.content) == (204, b"")
    assert "content-type" not in sent_by_starlette.headers

    @telhook_django.webhook("lisoloo", credentials=CREDENTIALS, store=MemoryStore())
    def django_hook(request: Any, event: Any) -> int:
        return 204

    headers = {k: v for k, v in REQUEST["headers"].items() if k.lower() != "content-type"}
    request = RequestFactory().post("/hooks/lisoloo", data=REQUEST["body"], content_type="application/json",
                                    headers=headers)
    sent_by_django = django_hook(request)
    assert (sent_by_django.status_code, sent_by_django.content, sent_by_django.has_header("Content-Type")) == (
        204, b"", False)


def test_starlette_headers_are_request_headers_items_read_from_the_scope() -> None:
    from starlette.requests import Request

    from telhook.starlette import _scope_header_pairs

    scope = {"type": "http", "method": "POST", "path": "/hooks", "query_string": b"",
             "headers": [(b"content-type", b"application/json"), (b"x-note", b"caf\xe9"), (b"x-note", b"second")]}
    request = Request(scope)
    assert _scope_header_pairs(request) == list(request.headers.items())
    assert ("x-note", "café") in _scope_header_pairs(request)


def test_flask_headers_are_request_headers_items_read_from_the_environ() -> None:
    from werkzeug.test import EnvironBuilder
    from werkzeug.wrappers import Request

    from telhook.flask import _environ_header_pairs

    for content_type in ("application/json", None):
        environ = EnvironBuilder(method="POST", path="/hooks", data=b'{"a": 1}', content_type=content_type,
                                 headers={"X-Lisoloo-Signature": "sig", "Authorization": "Basic abc"}).get_environ()
        environ["HTTP_CONTENT_TYPE"] = "text/x-duplicate"  # a server's stray copy: Werkzeug skips it
        if content_type is None:
            environ["CONTENT_TYPE"] = ""  # empty: Werkzeug leaves it out
        expected = [(name.lower(), value) for name, value in Request(environ).headers.items()]
        assert _environ_header_pairs(environ) == expected
        assert ("x-lisoloo-signature", "sig") in expected


def test_a_client_that_hangs_up_mid_body_is_told_at_info_not_raised_to_the_server(caplog: pytest.LogCaptureFixture) -> None:
    import asyncio

    from telhook.starlette import webhook

    calls: List[Any] = []

    @webhook("lisoloo", credentials=CREDENTIALS, store=MemoryStore())
    async def hook(request: Request, event: Any) -> None:
        calls.append(event)

    app = Starlette(routes=[Route("/hooks/lisoloo", hook, methods=["POST"])])
    headers = [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in REQUEST["headers"].items()]
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": "/hooks/lisoloo", "raw_path": b"/hooks/lisoloo", "query_string": b"", "root_path": "",
             "headers": headers + [(b"content-length", b"1000")], "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80)}
    messages = [{"type": "http.request", "body": b'{"event":', "more_body": True}, {"type": "http.disconnect"}]
    sent: List[Dict[str, Any]] = []

    async def receive() -> Dict[str, Any]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: Dict[str, Any]) -> None:
        sent.append(message)

    with caplog.at_level("INFO", logger="telhook"):
        asyncio.run(app(scope, receive, send))  # raised ClientDisconnect out of the app before
    assert calls == []
    assert [(r.levelname, r.getMessage()) for r in caplog.records if r.name == "telhook"] == [
        ("INFO", "telhook: the client closed the connection before the body was complete; provider=lisoloo")]
    assert sent[0]["status"] == 500


TWILIO: Dict[str, Any] = {"auth_token": "twilio-auth-token-for-tests"}


@pytest.mark.parametrize("path", ["/t/acme/sms", "/t/caf%C3%A9/sms", "/t/a%20b/sms"])
def test_twilio_signs_the_path_as_sent_escapes_and_all_in_flask_and_starlette(path: str) -> None:
    """Twilio signs the URL it calls; a path holding an escape (a tenant "café", "a b") was
    checked in its decoded form and refused 401, which Twilio does not retry."""
    from telhook.flask import webhook as flask_webhook
    from telhook.starlette import webhook as starlette_webhook
    from telhook.testing import signed_request

    app = flask.Flask(__name__)

    @app.post("/t/<tenant>/sms")
    @flask_webhook("twilio", credentials=TWILIO, store=MemoryStore())
    def flask_hook(event: Any, tenant: str) -> None:
        return None

    @starlette_webhook("twilio", credentials=TWILIO, store=MemoryStore())
    async def starlette_hook(request: Request, event: Any) -> None:
        return None

    starlette_app = Starlette(routes=[Route("/t/{tenant}/sms", starlette_hook, methods=["POST"])])
    request = signed_request("twilio", credentials=TWILIO, url=f"http://testserver{path}?source=sms")
    headers = dict(request.headers)
    sent = app.test_client().post(f"{path}?source=sms", data=request.body, headers=headers, base_url="http://testserver")
    # Twilio's acknowledgement is TwiML, its code in a comment.
    assert (sent.status_code, code_of(sent.data)) == (200, "accepted")
    sent_asgi = TestClient(starlette_app).post(f"{path}?source=sms", content=request.body, headers=headers)
    assert (sent_asgi.status_code, code_of(sent_asgi.content)) == (200, "accepted")
    assert sent_asgi.headers["content-type"].startswith("text/xml")


def test_flask_under_a_prefix_checks_twilios_url_with_the_prefix() -> None:
    """An app mounted under a prefix (gunicorn's SCRIPT_NAME, DispatcherMiddleware,
    ProxyFix(x_prefix=1)) is called at prefix + route: Twilio signs that URL."""
    from werkzeug.middleware.dispatcher import DispatcherMiddleware

    from telhook.flask import webhook
    from telhook.testing import signed_request

    app = flask.Flask(__name__)
    calls: List[Any] = []

    @app.post("/hooks/twilio")
    @webhook("twilio", credentials=TWILIO, store=MemoryStore())
    def hook(event: Any) -> None:
        calls.append(event)

    outer = flask.Flask("outer")
    outer.wsgi_app = DispatcherMiddleware(outer.wsgi_app, {"/app": app.wsgi_app})  # type: ignore[method-assign]
    request = signed_request("twilio", credentials=TWILIO, url="http://testserver/app/hooks/twilio")
    sent = outer.test_client().post("/app/hooks/twilio", data=request.body, headers=dict(request.headers),
                                    base_url="http://testserver")
    assert (sent.status_code, code_of(sent.data), len(calls)) == (200, "accepted", 1)


def test_flask_max_content_length_is_the_cores_body_too_large_never_werkzeugs_413() -> None:
    """Flask's MAX_CONTENT_LENGTH refuses a longer body with Werkzeug's 413, which Lisoloo
    takes as final (it drops the event): answered as the core answers a body over the cap."""
    from telhook.flask import webhook

    app = flask.Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = 100
    calls: List[Any] = []

    @app.post("/hooks/lisoloo")
    @webhook("lisoloo", credentials=CREDENTIALS, store=MemoryStore())
    def hook(event: Any) -> None:
        calls.append(event)

    client = app.test_client()
    assert len(REQUEST["body"].encode()) > 100
    declared = client.post("/hooks/lisoloo", data=REQUEST["body"], headers=REQUEST["headers"])
    # Chunked, as gunicorn hands it over (no length; the input says where it ends): Werkzeug
    # raises while the body is read, not when the stream is opened.
    chunked = client.post("/hooks/lisoloo", input_stream=io.BytesIO(REQUEST["body"].encode()),
                          headers={**REQUEST["headers"], "Transfer-Encoding": "chunked"},
                          environ_overrides={"wsgi.input_terminated": True})
    for answer in (declared, chunked):
        assert (answer.status_code, answer.get_json()) == (500, {"error": "body_too_large"})
    assert calls == []


def test_a_cancelled_error_out_of_an_async_handler_is_its_failure_and_releases_the_claim() -> None:
    """An inner task the handler awaited was cancelled: the handler failed (500), and its claim
    is released so the redelivery is handled, not turned away as in progress for the lease."""
    import asyncio

    from telhook.starlette import webhook

    calls: List[int] = []

    @webhook("lisoloo", credentials=CREDENTIALS, store=MemoryStore())
    async def hook(request: Request, event: Any) -> None:
        calls.append(1)
        if len(calls) == 1:
            inner = asyncio.ensure_future(asyncio.sleep(10))
            inner.cancel()
            await inner

    app = Starlette(routes=[Route("/hooks/lisoloo", hook, methods=["POST"])])
    with TestClient(app, raise_server_exceptions=False) as client:
        answers = [client.post("/hooks/lisoloo", content=REQUEST["body"], headers=REQUEST["headers"])
                   for _ in range(3)]
    assert [(a.status_code, a.json()) for a in answers] == [
        (500, {"error": "handler_failed"}), (200, {"outcome": "accepted"}), (200, {"outcome": "duplicate"})]
    assert len(calls) == 2
