"""The Django project under ASGI (uvicorn) on loopback, with real Redis and PostgreSQL (issue 22):
a handler slower than the provider's timeout runs to completion exactly once although the
provider hangs up and the server cancels the view, and the body cap applies before Django
reads the body (telhook.django.asgi.WebhookBodyCap)."""

from __future__ import annotations

import socket
import sys
import time
from typing import Iterator

import pytest

from services import wait_until
from test_served import DELIVERY, DUPLICATE, IN_PROGRESS, Served, fresh, serve  # noqa: F401 (fixture)

# The provider's side: Lisoloo, LimePhone and GatewayAPI wait 5 s for an answer.
PROVIDER_TIMEOUT_SECS = 5


@pytest.fixture(scope="module")
def served(postgres_port: int, redis_url: str) -> Iterator[Served]:
    uvicorn = [sys.executable, "-m", "uvicorn", "--host", "127.0.0.1", "--port", "{port}", "--log-level", "warning",
               "djangoproject.asgi:application"]
    with serve(postgres_port, redis_url, uvicorn) as served:
        yield served


def _post_and_hang_up(served: Served, path: str, after_secs: float) -> None:
    """A provider that gives up after `after_secs` and closes the connection unanswered."""
    body = DELIVERY["request"]["body"].encode()
    head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {len(body)}\r\n"
    head += "".join(f"{name}: {value}\r\n" for name, value in DELIVERY["request"]["headers"].items())
    with socket.create_connection(("127.0.0.1", served.port), timeout=after_secs) as connection:
        connection.sendall(head.encode() + b"\r\n" + body)
        with pytest.raises(socket.timeout):
            connection.recv(1)


def test_a_handler_slower_than_the_providers_timeout_runs_once(served: Served) -> None:
    (served.control / "slow").write_text("6")
    started = time.monotonic()
    _post_and_hang_up(served, "/served/async-slow", PROVIDER_TIMEOUT_SECS)
    # The provider retries while the handler still runs: told to come back later.
    status, headers, body = served.post("/served/async-slow")
    assert (status, body) == IN_PROGRESS and headers["retry-after"] == "5"
    wait_until(lambda: (served.control / "finished").exists(), "the cancelled request's handler", seconds=15)
    finished = time.monotonic() - started
    status, _, body = served.post("/served/async-slow")
    assert (status, body) == DUPLICATE
    assert served.handler_calls() == 1
    assert 6 <= finished < 10, finished


def _declare(served: Served, path: str, length: int) -> bytes:
    head = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {length}\r\n"
            "Content-Type: application/json\r\n\r\n")
    with socket.create_connection(("127.0.0.1", served.port), timeout=10) as connection:
        connection.sendall(head.encode())  # and no body: a server that waits for it never answers
        reply = b""
        while not reply.endswith(b"}"):
            chunk = connection.recv(4096)
            if not chunk:
                break
            reply += chunk
        return reply


def test_a_declared_20_mib_body_is_refused_before_it_is_read(served: Served) -> None:
    started = time.monotonic()
    reply = _declare(served, "/served/async", 20 * 1024 * 1024)
    elapsed = time.monotonic() - started
    assert reply.startswith(b"HTTP/1.1 413"), reply
    assert reply.endswith(b'{"error":"body_too_large"}'), reply
    assert elapsed < 2.0, elapsed  # a server waiting for the body never answers (10 s timeout)
    # Lisoloo drops an event on any 4xx: 500, retried until the cap is raised; and a prefix
    # whose provider is not named may be Lisoloo's.
    for path in ["/hooks/lisoloo", "/hooks/limephone"]:
        reply = _declare(served, path, 20 * 1024 * 1024)
        assert reply.startswith(b"HTTP/1.1 500"), (path, reply)
        assert reply.endswith(b'{"error":"body_too_large"}'), reply


def test_a_streamed_body_over_the_cap_is_cut_off_with_413(served: Served) -> None:
    head = ("POST /served/async HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n"
            "Content-Type: application/json\r\n\r\n")
    chunk = b"a" * 65536
    with socket.create_connection(("127.0.0.1", served.port), timeout=10) as connection:
        connection.sendall(head.encode())
        reply = b""
        try:
            for _ in range(40):  # 2.5 MiB, over the 1 MiB default cap
                connection.sendall(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
        except OSError:
            pass  # the server closed after answering
        reply = connection.recv(4096)
    assert reply.startswith(b"HTTP/1.1 413"), reply
    assert served.handler_calls() == 0
