"""Every conformance vector through the extension, compared exactly with the expected output."""

from __future__ import annotations

import json
from typing import Any, Dict

import pytest

import telhook
from vector_reader import load_vectors, max_body_bytes, request_of

VECTORS = load_vectors()


def run(vector: Dict[str, Any]) -> Dict[str, Any]:
    request = request_of(vector["request"])
    try:
        event = telhook.normalize_event(
            vector["provider"],
            headers=request.headers,
            body=request.body,
            credentials=vector["credentials"],
            now=vector["now"],
            method=request.method,
            url=request.url,
            max_body_bytes=max_body_bytes(vector),
            public_url=(vector.get("options") or {}).get("public_url"),
            trust_forwarded_headers=(vector.get("options") or {}).get("trust_forwarded_headers"),
        )
    except telhook.WebhookError as error:
        # Anything else (PanicException above all) propagates and fails the test.
        return {"error": error.code}
    return {"event": dict(event)}


@pytest.mark.parametrize("name,vector", VECTORS, ids=[name for name, _ in VECTORS])
def test_vector(name: str, vector: Dict[str, Any]) -> None:
    # As JSON text, not by value: 1 == 1.0 == True and 0 == -0.0 in Python, and raw's numbers
    # must come out in the one form every runtime gives (README: "Numbers in raw").
    assert json.dumps(run(vector), sort_keys=True) == json.dumps(vector["expect"], sort_keys=True)


def test_enough_vectors() -> None:
    assert len(VECTORS) >= 60
    assert sum(1 for _, v in VECTORS if "error" in v["expect"]) >= 15


def test_no_panic_and_no_secret_over_every_error_vector() -> None:
    checked = 0
    for name, vector in VECTORS:
        if "error" not in vector["expect"]:
            continue
        secrets = [s for s in _strings(vector["credentials"]) if len(s) >= 6]
        try:
            run_raw(vector)
        except telhook.WebhookError as error:
            for text in (str(error), repr(error), repr(error.args)):
                assert not any(secret in text for secret in secrets), name
            checked += 1
    assert checked >= 15


def run_raw(vector: Dict[str, Any]) -> None:
    request = request_of(vector["request"])
    options = vector.get("options") or {}
    receiver = telhook.Receiver(vector["provider"], vector["credentials"], max_body_bytes=max_body_bytes(vector),
                                public_url=options.get("public_url"),
                                trust_forwarded_headers=options.get("trust_forwarded_headers"))
    assert "SECRET" not in repr(receiver) and "secret-" not in repr(receiver).lower()
    receiver.normalize(
        headers=request.headers, body=request.body, now=vector["now"], method=request.method, url=request.url,
    )


def _strings(value: Any) -> list:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    if isinstance(value, dict):
        return [s for item in value.values() for s in _strings(item)]
    return []


def test_every_event_reads_the_same_from_a_warm_thread_and_a_fresh_one() -> None:
    """serde-pyobjects copies a struct's dict from the shape it had before (StructShape). Over
    every success vector in one thread (each struct's shape built once, then copied, with fields
    turning from None to a value and back between providers) each event equals, keys in the
    same order at every level, the one a new thread builds key by key."""
    import threading

    def ordered(value: Any) -> Any:
        if isinstance(value, dict):
            return [(key, ordered(item)) for key, item in value.items()]
        if isinstance(value, list):
            return [ordered(item) for item in value]
        return value

    successes = [vector for _, vector in VECTORS if "event" in vector["expect"]]
    warm = [ordered(run(vector)) for vector in successes]
    for _ in range(2):  # the second round reads every shape from the first
        assert [ordered(run(vector)) for vector in successes] == warm
    fresh: list = []
    thread = threading.Thread(target=lambda: fresh.extend(ordered(run(vector)) for vector in successes))
    thread.start()
    thread.join()
    assert fresh == warm and len(warm) >= 60
