"""telhook.django in a real Django project, with the test client: locmem and real Redis."""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
import time
from typing import Any, Dict, Iterator, List, Tuple

import pytest
from django.core.cache import caches
from django.test import Client, override_settings

from djangoproject import views


def vector(vectors: List[Tuple[str, Dict[str, Any]]], name: str) -> Dict[str, Any]:
    return next(v for n, v in vectors if n == name)


def post(client: Client, path: str, v: Dict[str, Any], **overrides: str) -> Any:
    headers = {**v["request"]["headers"], **overrides}
    content_type = headers.pop("Content-Type", "application/json")
    return client.post(path, data=v["request"]["body"], content_type=content_type, headers=headers)


@pytest.fixture(autouse=True)
def fresh_state() -> Iterator[None]:
    views.PROCESSED.clear()
    views.FAIL_NEXT["value"] = False
    caches["default"].clear()
    yield


def test_signed_accepted_forged_rejected_redelivery_acknowledged_once(vectors: Any) -> None:
    v = vector(vectors, "limephone/doc_sms_received.json")
    client = Client()
    assert post(client, "/hooks/limephone", v).status_code == 200
    assert post(client, "/hooks/limephone", v).status_code == 200  # redelivery: acked
    assert views.PROCESSED == ["limephone:sms_received:345678"]  # processed once
    forged = post(client, "/hooks/limephone", v, **{"X-LimePhone-Signature": "ab" * 32})
    assert forged.status_code == 401
    assert forged.json() == {"error": "signature_mismatch"}
    assert len(views.PROCESSED) == 1


def test_malformed_body_and_method(vectors: Any) -> None:
    client = Client()
    malformed = vector(vectors, "lisoloo/err_malformed_json.json")
    response = post(client, "/hooks/lisoloo", malformed)
    assert response.status_code == 400  # Lisoloo treats it as permanent: no retry storm
    assert response.json() == {"error": "malformed_json"}
    assert client.get("/hooks/lisoloo").status_code == 405
    too_big = client.post("/hooks/lisoloo", data=b"x" * (65 * 1024), content_type="application/json")
    assert too_big.status_code == 400 and too_big.json() == {"error": "body_too_large"}
    assert views.PROCESSED == []


def test_view_failure_answers_500_and_the_retry_is_processed(vectors: Any) -> None:
    v = vector(vectors, "limephone/doc_incoming_call.json")
    client = Client()
    views.FAIL_NEXT["value"] = True
    assert post(client, "/hooks/limephone", v).status_code == 500
    assert views.PROCESSED == []
    assert post(client, "/hooks/limephone", v).status_code == 200
    assert views.PROCESSED == ["limephone:incoming_call:123456"]


def deliver_concurrently(v: Dict[str, Any], deliveries: int) -> List[int]:
    barrier = threading.Barrier(deliveries)
    statuses: List[int] = []

    def one() -> None:
        client = Client()
        barrier.wait()
        statuses.append(post(client, "/hooks/limephone", v).status_code)

    threads = [threading.Thread(target=one) for _ in range(deliveries)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    server = shutil.which("redis-server") or "/usr/bin/redis-server"
    port = free_port()
    process = subprocess.Popen(
        [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2) as conn:
                    conn.sendall(b"PING\r\n")
                    if conn.recv(16).startswith(b"+PONG"):
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("redis-server did not start")
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_concurrent_redeliveries_on_locmem_are_processed_once(vectors: Any) -> None:
    statuses = deliver_concurrently(vector(vectors, "limephone/doc_sms_sent.json"), 2)
    assert statuses == [200, 200]
    assert views.PROCESSED == ["limephone:sms_sent:234567"]


def test_concurrent_redeliveries_on_real_redis_are_processed_once(vectors: Any, redis_url: str) -> None:
    redis_cache = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": redis_url}}
    with override_settings(CACHES=redis_cache):
        caches["default"].clear()
        v = vector(vectors, "limephone/doc_voicemail_received.json")
        for _ in range(3):  # several rounds: the race must be lost every time
            statuses = deliver_concurrently(v, 2)
            assert statuses == [200, 200]
        assert views.PROCESSED == ["limephone:voicemail_received:567890"]
        # The key really is in Redis, with the provider's dedupe TTL.
        import redis

        client = redis.Redis.from_url(redis_url)
        keys = [k for k in client.keys("*") if b"telhook:limephone:voicemail_received:567890" in k]
        assert len(keys) == 1
        ttl = client.ttl(keys[0])
        assert 86_000 < ttl <= 86_400
