"""Every Python example of python/README.md (and the adapter examples of the root README) is
executed as written, then driven with real signed deliveries: the first is accepted, the
redelivery is a duplicate, the handler ran once."""

from __future__ import annotations

import asyncio
import json
import os
import pathlib
import re
import subprocess
import sys
import tempfile
import types
from typing import Any, Callable, Dict, List

import pytest
import redis

from telhook.testing import signed_request

ROOT = pathlib.Path(__file__).resolve().parents[2]
VECTORS = ROOT / "tests" / "vectors"
ACCEPTED = {"outcome": "accepted"}
DUPLICATE = {"outcome": "duplicate"}


def python_blocks(path: pathlib.Path) -> List[str]:
    return re.findall(r"```python\n(.*?)```", path.read_text("utf-8"), flags=re.S)


def limephone_request(secret: str, token: str) -> Dict[str, Any]:
    body = json.loads((VECTORS / "limephone" / "doc_sms_sent.json").read_text())["request"]["body"].encode()
    signed = signed_request("limephone", body=body, credentials={"hmac_sha256": secret, "bearer": token})
    return {"body": signed.body, "headers": dict(signed.headers)}


LIMEPHONE = limephone_request("lime-whsec-CURRENT-5b1e", "lime-bearer-TOKEN-9f8e")  # tests' settings.TELHOOK
LISOLOO = json.loads((VECTORS / "lisoloo" / "doc_envelope_delivered.json").read_text())["request"]
LISOLOO_PASSWORD = "liso-PASS-current-4411"


class Recorder:
    def __init__(self) -> None:
        self.calls: List[Any] = []

    def __call__(self, *args: Any) -> None:
        self.calls.append(args)


def drive_normalize(code: str, monkeypatch: Any, redis_url: str) -> None:
    if "telhook.ack_for_error(" in code:  # the root README's: a GatewayAPI delivery, then a forged one
        for secret in ("previous-secret", "not-the-secret"):
            request = signed_request("gatewayapi", "delivery_report", credentials={"hmac_sha256": secret})
            given: Dict[str, Any] = {"request": request}  # .headers and .body, as the example reads
            exec(code, given)
            if secret == "previous-secret":
                assert given["event"]["provider"] == "gatewayapi" and "status" not in given
            else:
                assert "event" not in given and given["status"] == 401
        return
    signed = limephone_request("current", "token")
    namespace: Dict[str, Any] = {"request": types.SimpleNamespace(headers=signed["headers"], body=signed["body"])}
    exec(code, namespace)
    assert namespace["event"]["id"] == "limephone:sms_sent:234567"


def drive_django(code: str, monkeypatch: Any, redis_url: str) -> None:
    from django.core.cache import caches
    from django.test import RequestFactory

    from telhook.django.models import DedupeKey

    caches["default"].clear()
    DedupeKey.objects.all().delete()
    created, notified = Recorder(), Recorder()

    class Message:
        class objects:
            create = staticmethod(lambda **fields: created(fields))

    async def notify(event: Any) -> None:
        notified(event["id"])

    namespace: Dict[str, Any] = {"Message": Message, "notify": notify}
    exec(code, namespace)

    def request() -> Any:
        headers = dict(LIMEPHONE["headers"])
        content_type = headers.pop("Content-Type")
        return RequestFactory().post("/hooks/limephone", data=LIMEPHONE["body"], content_type=content_type,
                                     headers=headers)

    sync_view, async_view = namespace["limephone_hook"], namespace["limephone_async_hook"]
    assert [json.loads(sync_view(request()).content) for _ in range(2)] == [ACCEPTED, DUPLICATE]
    assert created.calls == [({"event_id": "limephone:sms_sent:234567", "kind": "message.sent", "to": "+18887654321"},)]
    assert DedupeKey.objects.get().state == "done"
    replies = [json.loads(asyncio.run(async_view(request())).content) for _ in range(2)]
    assert replies == [ACCEPTED, DUPLICATE] and notified.calls == [("limephone:sms_sent:234567",)]


def drive_flask(code: str, monkeypatch: Any, redis_url: str) -> None:
    redis.Redis.from_url(redis_url).flushdb()
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("LISOLOO_PASSWORD", LISOLOO_PASSWORD)
    handle = Recorder()
    # The example's work is a print; nothing else is given to it (a name it leaves undefined fails).
    namespace: Dict[str, Any] = {"print": handle, "__name__": "readme_flask"}
    exec(code, namespace)
    client = namespace["app"].test_client()
    replies = [client.post("/hooks/lisoloo", data=LISOLOO["body"], headers=LISOLOO["headers"]).get_json()
               for _ in range(2)]
    assert replies == [ACCEPTED, DUPLICATE] and len(handle.calls) == 1
    if "@app.route(" in code:  # every method routed to telhook: its JSON 405, not Werkzeug's HTML
        refused = client.get("/hooks/lisoloo")
        assert (refused.status_code, refused.get_json(), refused.headers["Allow"]) == (
            405, {"error": "method_not_allowed"}, "POST")


def drive_fastapi(code: str, monkeypatch: Any, redis_url: str) -> None:
    from starlette.testclient import TestClient

    redis.Redis.from_url(redis_url).flushdb()
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("LIMEPHONE_SECRET", "lime-whsec-CURRENT-5b1e")
    monkeypatch.setenv("LIMEPHONE_TOKEN", "lime-bearer-TOKEN-9f8e")
    handled = Recorder()

    def printed(event_type: str, event_id: str) -> None:
        handled(event_id)

    # The example's work is a print; nothing else is given to it (a name it leaves undefined fails).
    namespace: Dict[str, Any] = {"print": printed}
    exec(code, namespace)
    with TestClient(namespace["app"]) as client:  # one event loop for the asyncio Redis client
        replies = [client.post("/hooks/limephone", content=LIMEPHONE["body"], headers=LIMEPHONE["headers"]).json()
                   for _ in range(2)]
    assert replies == [ACCEPTED, DUPLICATE] and handled.calls == [("limephone:sms_sent:234567",)]


def fastapi_app_block() -> str:
    """python/README.md's FastAPI app (AsyncRedisStore), the `myapp` its test imports."""
    blocks = [b for b in python_blocks(ROOT / "python" / "README.md") if "from telhook.starlette import webhook" in b]
    assert len(blocks) == 1
    return blocks[0]


def drive_fastapi_test(code: str, monkeypatch: Any, redis_url: str) -> None:
    """The README's FastAPI test file, run by pytest as written, twice in a row against one
    Redis that outlives the runs (as a dev's Redis does), with a second test in the module (two
    tests sharing the session's client): the handler runs every time. With a client per test,
    or none opened with `with`, the second request of a run is 503."""
    redis.Redis.from_url(redis_url).flushdb()
    with tempfile.TemporaryDirectory() as tmp:
        folder = pathlib.Path(tmp)
        handled = folder / "handled.txt"
        (folder / "myapp.py").write_text(
            # The example's work is a print: here it logs the event id to a file.
            "import os\n\ndef print(event_type, event_id):\n"
            "    with open(os.environ['HANDLED_LOG'], 'a') as log:\n        log.write(event_id + '\\n')\n\n"
            + fastapi_app_block())
        # A second test in the same module shares the session's client, as a dev's next test
        # would (collecting the file twice would make a second module, fixture and event loop).
        (folder / "test_hooks.py").write_text(
            code + "\n\ndef test_another_sms_is_handled(client):\n    test_an_sms_is_handled(client)\n")
        env = {**os.environ, "REDIS_URL": redis_url, "HANDLED_LOG": str(handled), "PYTHONPATH": str(folder),
               "LIMEPHONE_SECRET": "lime-whsec-CURRENT-5b1e", "LIMEPHONE_TOKEN": "lime-bearer-TOKEN-9f8e"}
        for run in range(2):
            result = subprocess.run(
                [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-W", "ignore::DeprecationWarning",
                 "test_hooks.py"],
                cwd=folder, env=env, capture_output=True, text=True, timeout=120)
            assert result.returncode == 0 and "2 passed" in result.stdout, result.stdout + result.stderr
            ids = handled.read_text().split()
            assert len(ids) == 2 * (run + 1) and len(set(ids)) == len(ids), ids


def drive_receive(code: str, monkeypatch: Any, redis_url: str) -> None:
    monkeypatch.setenv("LISOLOO_PASSWORD", LISOLOO_PASSWORD)
    handle, send = Recorder(), Recorder()
    namespace: Dict[str, Any] = {"method": "POST", "url": "/hooks/lisoloo", "headers": LISOLOO["headers"],
                                 "body": LISOLOO["body"].encode(), "handle": handle, "send": send}
    exec(code, namespace)
    assert send.calls == [(200, (("content-type", "application/json"),), b'{"outcome":"accepted"}')]
    assert len(handle.calls) == 1


def drive_testing(code: str, monkeypatch: Any, redis_url: str) -> None:
    from django.core.cache import caches

    from djangoproject import views

    caches["default"].clear()
    views.PROCESSED.clear()
    views.FAIL_NEXT["value"] = False
    views.OWN_RESPONSE["value"] = False
    namespace: Dict[str, Any] = {}
    exec(code, namespace)
    namespace["test_a_failed_sms_is_recorded"](signed_request)
    assert len(views.PROCESSED) == 1 and views.PROCESSED[0].startswith("lisoloo:")


def drive_asgi_cap(code: str, monkeypatch: Any, redis_url: str) -> None:
    """The ASGI application of the example: a declared 20 MiB body to a webhook path is refused
    before Django sees the request, without a byte of the body read: 413, 500 to Lisoloo."""
    namespace: Dict[str, Any] = {}
    exec(code, namespace)
    application = namespace["application"]
    sent: List[Dict[str, Any]] = []

    async def receive() -> Dict[str, Any]:
        raise AssertionError("the body must not be read")

    async def send(message: Dict[str, Any]) -> None:
        sent.append(message)

    for path, status in [("/hooks/limephone", 413), ("/hooks/lisoloo", 500)]:
        sent.clear()
        scope = {"type": "http", "method": "POST", "path": path, "query_string": b"",
                 "headers": [(b"content-length", str(20 * 1024 * 1024).encode())]}
        asyncio.run(application(scope, receive, send))
        assert sent[0]["status"] == status and sent[1]["body"] == b'{"error":"body_too_large"}', path


DRIVERS: Dict[str, Callable[[str, Any, str], None]] = {
    "telhook.normalize_event(": drive_normalize,
    "from telhook.django import webhook": drive_django,
    "from telhook.flask import webhook": drive_flask,
    "from telhook.starlette import webhook": drive_fastapi,
    "telhook.receive(": drive_receive,
    "from telhook.testing import post_to_django": drive_testing,
    "from fastapi.testclient import TestClient": drive_fastapi_test,
    "from telhook.django.asgi import WebhookBodyCap": drive_asgi_cap,
}


def driver_of(block: str) -> Callable[[str, Any, str], None]:
    found = [driver for marker, driver in DRIVERS.items() if marker in block]
    assert len(found) == 1, f"no single driver for this README example:\n{block}"
    return found[0]


EXAMPLES = [(f"python/README.md#{i}", block) for i, block in enumerate(python_blocks(ROOT / "python" / "README.md"))]
# The root README: its one-call and receive examples. Its inbox examples are run by
# test_sqlalchemy_inbox and test_django_inbox, the delivery-status one (telhook.django_ledger) by
# test_ledger, the testing one by test_testing (npm/test/readme-snippets.test.mjs counts them all).
# Its Twilio, Telnyx and Vonage receiver (<!-- example: providers-flask -->) is run by
# test_readme_providers under telhook simulate.
PROVIDERS_EXAMPLE = re.findall(r"<!-- example: providers-flask -->\n```python\n(.*?)```",
                               (ROOT / "README.md").read_text("utf-8"), flags=re.S)
EXAMPLES += [(f"README.md#{i}", block) for i, block in enumerate(python_blocks(ROOT / "README.md"))
             if ("import webhook" in block or "WebhookBodyCap" in block or "telhook.ack_for_error(" in block)
             and "django_ledger" not in block and block not in PROVIDERS_EXAMPLE]


def test_the_providers_example_is_left_to_its_own_test() -> None:
    assert len(PROVIDERS_EXAMPLE) == 1 and 'webhook("vonage"' in PROVIDERS_EXAMPLE[0]
    assert all(block not in PROVIDERS_EXAMPLE for _, block in EXAMPLES)


def test_readmes_have_every_adapter() -> None:
    drivers = {driver_of(block).__name__ for _, block in EXAMPLES}
    assert drivers == {driver.__name__ for driver in DRIVERS.values()}
    assert sum("import webhook" in block for name, block in EXAMPLES if name.startswith("README.md")) == 3
    for name, block in EXAMPLES:
        if "import webhook" in block:
            assert len(block.strip().splitlines()) <= 15, f"{name} is over 15 lines"


def test_readme_test_clients_are_opened_with_with() -> None:
    """An async store (redis.asyncio) needs one event loop across a test's requests: every
    TestClient in a README example is opened in a `with` block."""
    blocks = [block for path in ("README.md", "npm/README.md", "python/README.md")
              for block in python_blocks(ROOT / path) if "TestClient(" in block]
    assert blocks, "the FastAPI test example is missing"
    for block in blocks:
        assert block.count("TestClient(") == block.count("with TestClient("), block


def test_test_client_without_with_answers_the_second_request_503(monkeypatch: pytest.MonkeyPatch,
                                                                 redis_url: str) -> None:
    """Why the README says `with`: the FastAPI app of the README, AsyncRedisStore, two
    requests through a TestClient used without it."""
    from starlette.testclient import TestClient

    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("LIMEPHONE_SECRET", "lime-whsec-CURRENT-5b1e")
    monkeypatch.setenv("LIMEPHONE_TOKEN", "lime-bearer-TOKEN-9f8e")

    async def handle(event: Any) -> None:
        pass

    namespace: Dict[str, Any] = {"handle": handle}
    exec(fastapi_app_block(), namespace)
    client = TestClient(namespace["app"])
    credentials = {"hmac_sha256": "lime-whsec-CURRENT-5b1e", "bearer": "lime-bearer-TOKEN-9f8e"}
    statuses = []
    for _ in range(2):
        request = signed_request("limephone", "sms_received", credentials=credentials)
        statuses.append(client.post("/hooks/limephone", content=request.body, headers=request.headers).status_code)
    assert statuses == [200, 503]


@pytest.mark.parametrize("name,block", EXAMPLES, ids=[name for name, _ in EXAMPLES])
def test_readme_example_runs(name: str, block: str, monkeypatch: pytest.MonkeyPatch, redis_url: str) -> None:
    driver_of(block)(block, monkeypatch, redis_url)
