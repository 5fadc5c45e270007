"""Twilio behind a reverse proxy (issue 25), with a real proxy in front of the Django receiver:
Twilio signs the public URL it calls (https://hooks.example.com/hooks/vector) while Django,
served by wsgiref on loopback, is reached at http://127.0.0.1:<port>/hooks/vector through a
proxy that forwards like nginx (X-Forwarded-Proto/-Host). The delivery passes with the
public_url option or trusted forwarded headers; without either it is refused, and the logged
line names the URL that was checked."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import http.client
import http.server
import logging
import threading
import urllib.parse
from typing import Any, Dict, Iterator, List, Optional, Tuple
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest
from vector_reader import code_of

TOKEN = "twilio-AUTH-token-proxy-test-0c1d"
PUBLIC_URL = "https://hooks.example.com/hooks/vector"
PARAMS = [("MessageSid", "SM0123456789abcdef0123456789abcdef"), ("MessageStatus", "delivered"),
          ("SmsStatus", "delivered"), ("From", "+15017122661"), ("To", "+15558675310")]


def twilio_signature(token: str, url: str, params: List[Tuple[str, str]]) -> str:
    """Twilio's algorithm, with Python's own hmac (independent of the core)."""
    signed = url + "".join(name + value for name, value in sorted(set(params)))
    return base64.b64encode(hmac.new(token.encode(), signed.encode(), hashlib.sha1).digest()).decode()


class _Quiet(WSGIRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


@contextlib.contextmanager
def serving(server: Any) -> Iterator[int]:
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


def proxy_handler(app_port: int) -> type:
    class Proxy(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
            headers.update({"Host": f"127.0.0.1:{app_port}", "X-Forwarded-Proto": "https",
                            "X-Forwarded-Host": "hooks.example.com"})
            upstream = http.client.HTTPConnection("127.0.0.1", app_port, timeout=30)
            try:
                upstream.request("POST", self.path, body=body, headers=headers)
                answer = upstream.getresponse()
                data = answer.read()
                self.send_response(answer.status)
                for name, value in answer.getheaders():
                    if name.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            finally:
                upstream.close()

        def log_message(self, *args: Any) -> None:
            pass

    return Proxy


def deliver_through_proxy(options: Dict[str, Any]) -> Tuple[int, Optional[str], List[str], int]:
    from django.core.wsgi import get_wsgi_application

    from djangoproject import views
    from telhook.django import webhook
    from telhook.stores import MemoryStore

    events: List[str] = []

    @webhook("twilio", credentials={"auth_token": TOKEN}, store=MemoryStore(), **options)
    def view(request: Any, event: Any) -> None:
        events.append(event["id"])

    views.VECTOR_VIEWS["sync"] = view
    app = make_server("127.0.0.1", 0, get_wsgi_application(), handler_class=_Quiet)
    with serving(app) as app_port:
        proxy = http.server.ThreadingHTTPServer(("127.0.0.1", 0), proxy_handler(app_port))
        with serving(proxy) as proxy_port:
            connection = http.client.HTTPConnection("127.0.0.1", proxy_port, timeout=30)
            try:
                connection.request("POST", "/hooks/vector", body=urllib.parse.urlencode(PARAMS).encode(), headers={
                    "Content-Type": "application/x-www-form-urlencoded",
                    "X-Twilio-Signature": twilio_signature(TOKEN, PUBLIC_URL, PARAMS)})
                response = connection.getresponse()
                return response.status, code_of(response.read()), events, app_port
            finally:
                connection.close()


def test_accepted_with_public_url() -> None:
    status, body, events, _ = deliver_through_proxy({"public_url": PUBLIC_URL})
    assert (status, body) == (200, "accepted")
    assert events == ["twilio:SM0123456789abcdef0123456789abcdef:delivered"]


def test_accepted_with_trusted_forwarded_headers() -> None:
    status, body, events, _ = deliver_through_proxy({"trust_forwarded_headers": True})
    assert (status, body) == (200, "accepted")
    assert len(events) == 1


def test_refused_without_the_option_naming_the_url_checked(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="telhook"):
        status, body, events, app_port = deliver_through_proxy({})
    assert (status, body, events) == (401, "signature_mismatch", [])
    errors = [record.getMessage() for record in caplog.records if record.name == "telhook"]
    assert any(f"http://127.0.0.1:{app_port}/hooks/vector" in text and "public_url" in text for text in errors), errors
    assert not any(TOKEN in text for text in errors)
