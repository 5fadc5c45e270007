"""telhook.flask and telhook.starlette beyond the handler vectors: the view's own response,
Flask's got_request_exception, a plain Starlette Route, programmer errors at decoration."""

from __future__ import annotations

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
