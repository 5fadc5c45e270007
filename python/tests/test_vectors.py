"""Every conformance vector through the extension, compared exactly with the expected output."""

from __future__ import annotations

from typing import Any, Dict

import pytest

import telhook
from conftest import body_of, header_pairs, load_vectors

VECTORS = load_vectors()


def run(vector: Dict[str, Any]) -> Dict[str, Any]:
    request = vector["request"]
    try:
        event = telhook.normalize_event(
            vector["provider"],
            headers=header_pairs(request),
            body=body_of(request),
            credentials=vector["credentials"],
            now=vector["now"],
            method=request.get("method", "POST"),
            url=request.get("url"),
            max_body_bytes=(vector.get("options") or {}).get("max_body_bytes"),
        )
    except telhook.WebhookError as error:
        # Anything else (PanicException above all) propagates and fails the test.
        return {"error": error.code}
    return {"event": dict(event)}


@pytest.mark.parametrize("name,vector", VECTORS, ids=[name for name, _ in VECTORS])
def test_vector(name: str, vector: Dict[str, Any]) -> None:
    assert run(vector) == vector["expect"]


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
    request = vector["request"]
    receiver = telhook.Receiver(
        vector["provider"], vector["credentials"], max_body_bytes=(vector.get("options") or {}).get("max_body_bytes")
    )
    assert "SECRET" not in repr(receiver) and "secret-" not in repr(receiver).lower()
    receiver.normalize(
        headers=header_pairs(request), body=body_of(request), now=vector["now"],
        method=request.get("method", "POST"), url=request.get("url"),
    )


def _strings(value: Any) -> list:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    if isinstance(value, dict):
        return [s for item in value.values() for s in _strings(item)]
    return []
