"""The Python API: input forms, typed results, errors."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime, timedelta, timezone
from typing import Any, Dict, List, Tuple

import pytest
from django.http.request import HttpHeaders

import telhook
from telhook.types import Credentials


def vector(vectors: List[Tuple[str, Dict[str, Any]]], name: str) -> Dict[str, Any]:
    return next(v for n, v in vectors if n == name)


def test_headers_and_body_forms(vectors: List[Tuple[str, Dict[str, Any]]]) -> None:
    v = vector(vectors, "limephone/doc_sms_sent.json")
    headers: Dict[str, str] = v["request"]["headers"]
    text: str = v["request"]["body"]
    meta = {"HTTP_" + k.upper().replace("-", "_"): val for k, val in headers.items()}
    meta["CONTENT_TYPE"] = headers["Content-Type"]
    forms = [
        (headers, text),
        (list(headers.items()), text.encode()),
        (HttpHeaders(meta), bytearray(text.encode())),
        (headers, memoryview(text.encode())),
        # Shapes the extension hands back to _header_pairs: list values, None values, tuples.
        ({name: [value] for name, value in headers.items()}, text),
        ({**headers, "X-Unset": None}, text),
        (tuple(headers.items()), text),
        ([*headers.items(), ("X-Count", 3)], text),
    ]
    for form_headers, body in forms:
        event = telhook.normalize_event(
            "limephone", headers=form_headers, body=body, credentials=v["credentials"], now=v["now"]
        )
        assert event == v["expect"]["event"]


def test_event_is_plain_json_objects_and_long_text_is_one_object() -> None:
    """The event is built in Rust without a JSON hand-off: it must still be exactly what
    json.loads gives (plain dict/list/str/int/bool/None), and a long text that is both the
    message text and a raw field is one str object, not two copies."""
    secret = "a-webhook-secret"
    text = "x" * 5000 + " é ✓"
    payload = {"event": "sms_received", "message_id": 7, "virtual_number": "+15551234567",
               "sender_number": "+18887654321", "message_content": text, "tags": ["a", 1, 2.5, True, None]}
    body = json.dumps(payload).encode()
    signature = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    event = telhook.normalize_event("limephone", headers={"X-LimePhone-Signature": signature}, body=body,
                                    credentials={"hmac_sha256": secret}, now=1769000000)
    assert type(event) is dict and type(event["raw"]) is dict and type(event["raw"]["tags"]) is list
    assert json.loads(json.dumps(event)) == event
    assert event["raw"] == payload and event["raw"]["tags"] == ["a", 1, 2.5, True, None]
    assert [type(item) for item in event["raw"]["tags"]] == [str, int, float, bool, type(None)]
    assert event["message"] is not None and event["message"]["text"] == text
    assert event["message"]["text"] is event["raw"]["message_content"]
    # The repeats are found by length, then text: an equal long string is the same object, one
    # of the same length with other text its own, and every one reads exactly as sent.
    twin, neighbour = "y" * 5000 + " é ✓", "x" * 4999 + "z é ✓"
    payload = {**payload, "tags": [text, twin, neighbour, text], "note": text}
    body = json.dumps(payload).encode()
    signature = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    event = telhook.normalize_event("limephone", headers={"X-LimePhone-Signature": signature}, body=body,
                                    credentials={"hmac_sha256": secret}, now=1769000000)
    assert event["raw"] == payload and event["message"]["text"] == text
    tags = event["raw"]["tags"]
    assert tags[0] is tags[3] is event["raw"]["note"] is event["raw"]["message_content"] is event["message"]["text"]
    assert tags[1] == twin and tags[2] == neighbour and tags[1] is not tags[0] and tags[2] is not tags[0]
    # Past the few long strings remembered, each is still read exactly as sent.
    many = [f"{i:04d}" + "z" * 400 for i in range(40)] + [text, twin]
    payload = {**payload, "tags": many}
    body = json.dumps(payload).encode()
    signature = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    event = telhook.normalize_event("limephone", headers={"X-LimePhone-Signature": signature}, body=body,
                                    credentials={"hmac_sha256": secret}, now=1769000000)
    assert event["raw"] == payload and event["message"]["text"] == text
    assert list(event) == ["schema_version", "provider", "id", "type", "provider_event_type", "occurred_at",
                           "received_at", "from", "to", "status", "message", "call", "lookup", "record",
                           "unread_fields", "raw"]


def test_raw_keys_are_reused_across_events_and_always_right() -> None:
    """raw's keys come from a bounded cache of key strings (serde-pyobjects' key_string): the
    same key in two events is one str object, and keys that evict each other, long keys and
    non-ASCII keys still read exactly as sent."""
    secret = "a-webhook-secret"

    def event_of(payload: Dict[str, Any]) -> Dict[str, Any]:
        body = json.dumps(payload).encode()
        signature = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        return telhook.normalize_event("limephone", headers={"X-LimePhone-Signature": signature}, body=body,
                                       credentials={"hmac_sha256": secret}, now=1769000000)

    base = {"event": "sms_received", "message_id": 7, "virtual_number": "+15551234567",
            "sender_number": "+18887654321", "message_content": "hi"}
    first, second = event_of(base), event_of(base)
    assert [a is b for a, b in zip(first["raw"], second["raw"])] == [True] * len(base)
    # 3,000 invented keys (more than the cache's 512 slots, so they collide and evict), some
    # longer than the 32 bytes it holds, some non-ASCII; then the usual keys again.
    invented = {f"k{i}" + ("é" if i % 7 == 0 else "") + ("x" * 40 if i % 11 == 0 else ""): i for i in range(3000)}
    assert event_of({**base, "extra": invented})["raw"] == {**base, "extra": invented}
    assert event_of(base)["raw"] == base


def test_now_forms(vectors: List[Tuple[str, Dict[str, Any]]]) -> None:
    v = vector(vectors, "lisoloo/doc_envelope_delivered.json")
    r = v["request"]
    for now in (v["now"], datetime.fromtimestamp(v["now"], tz=timezone.utc), "2026-01-21T12:53:20Z"):
        event = telhook.normalize_event("lisoloo", headers=r["headers"], body=r["body"], credentials=v["credentials"], now=now)
        assert event["received_at"] == "2026-01-21T12:53:20Z"
    # A naive datetime (datetime.utcnow()) has no zone: read in the machine's, it was hours off.
    naive = datetime.fromtimestamp(v["now"], tz=timezone.utc).replace(tzinfo=None)
    receiver = telhook.Receiver("lisoloo", v["credentials"])
    for call in (lambda: telhook.normalize_event("lisoloo", headers=r["headers"], body=r["body"],
                                                 credentials=v["credentials"], now=naive),
                 lambda: receiver.normalize(headers=r["headers"], body=r["body"], now=naive)):
        with pytest.raises(telhook.ConfigurationError) as naive_refused:
            call()
        assert (naive_refused.value.code, naive_refused.value.field) == ("invalid_clock", "now")


def test_errors_are_python_classes_with_core_codes() -> None:
    with pytest.raises(telhook.VerificationError) as caught:
        telhook.normalize_event(
            "limephone",
            headers={"X-LimePhone-Signature": "00" * 32},
            body=b'{"event":"incoming_call"}',
            credentials={"hmac_sha256": "a-secret-value-xyz"},
        )
    assert caught.value.code == "signature_mismatch"
    assert isinstance(caught.value, telhook.WebhookError)
    assert "a-secret-value-xyz" not in repr(caught.value) + str(caught.value)
    with pytest.raises(telhook.ConfigurationError) as unknown:
        telhook.retry_policy("sinch")  # type: ignore[arg-type]
    assert unknown.value.code == "unknown_provider"
    # A wrong argument type is the programmer's error, not the request's.
    with pytest.raises(TypeError, match="body must be"):
        telhook.normalize_event("limephone", headers={}, body=12, credentials={"bearer": "t"})  # type: ignore[arg-type]


def test_errors_carry_field_and_expected_in_the_constructor_order_of_javascript() -> None:
    import pickle

    with pytest.raises(telhook.VerificationError) as caught:
        telhook.normalize_event(
            "limephone",
            headers={"X-LimePhone-Signature": "00" * 32},
            body=b'{"event":"incoming_call"}',
            credentials={"hmac_sha256": "a-secret-value-xyz"},
            now=1_769_000_000,
        )
    error = caught.value
    assert (error.code, error.kind, error.field, error.expected) == (
        "signature_mismatch", "verification", "headers.x-limephone-signature", None)
    with pytest.raises(telhook.RequestError) as wrong_method:
        telhook.normalize_event("limephone", headers={}, body=b"{}", credentials={"bearer": "t"}, method="GET")
    assert (wrong_method.value.code, wrong_method.value.field, wrong_method.value.expected) == (
        "method_not_allowed", "method", "POST")
    with pytest.raises(telhook.ConfigurationError) as clock:
        telhook.normalize_event("limephone", headers={}, body=b"{}", credentials={"bearer": "t"}, now=1_769_000_000_000)
    assert (clock.value.code, clock.value.field) == ("invalid_clock", "now")
    built = telhook.RequestError("invalid_request", "m", "request", "headers", "pairs")
    assert (built.code, built.message, built.kind, built.field, built.expected) == (
        "invalid_request", "m", "request", "headers", "pairs")
    again = pickle.loads(pickle.dumps(error))
    assert type(again) is telhook.VerificationError
    assert (again.code, str(again), again.kind, again.field) == (error.code, str(error), error.kind, error.field)


def test_retry_policy_ack_and_status_order() -> None:
    policy = telhook.retry_policy("looplookup")
    assert policy.retry_delays[:1] == (timedelta(seconds=30),)
    assert policy.retry_delays[-1] == timedelta(minutes=15)
    assert policy.max_deliveries == 31
    assert policy.dedupe_ttl >= policy.retry_horizon + policy.timeout
    assert 200 in policy.ack_statuses and 204 not in policy.ack_statuses
    assert telhook.ack("lisoloo", "malformed") == telhook.Ack(status=400, provider_action="permanent_failure")
    assert telhook.status_wins("sent", "delivered") and not telhook.status_wins("delivered", "sent")
    assert telhook.status_wins(None, "unknown")


def test_detect_parse_and_capture() -> None:
    assert telhook.detect_provider(headers={"User-Agent": "LoopServer"}, body=b"{}") == "looplookup"
    parsed = telhook.parse("lisoloo", '{"event_id":"e","event_type":"sms.sent","new_field":[1]}')
    assert parsed["new_field"] == [1]
    captured = telhook.from_http_capture(b"POST /x?token=t HTTP/1.1\r\nA: b\r\n\r\n{}")
    assert captured.method == "POST" and captured.url == "/x?token=t" and captured.body == b"{}"
    assert captured.headers == [("A", "b")]


def test_detection_needs_credentials_per_provider_and_parse_redacts(
    vectors: List[Tuple[str, Dict[str, Any]]]
) -> None:
    v = vector(vectors, "lisoloo/detected_by_body.json")
    r = v["request"]
    # The README's Security example, in JSON.
    per_provider: Credentials = {"gatewayapi": {"hmac_sha256": "gw-secret"}, "lisoloo": v["credentials"]["lisoloo"]}
    event = telhook.normalize_event(None, headers=r["headers"], body=r["body"], credentials=per_provider, now=v["now"])
    assert event["id"] == v["expect"]["event"]["id"]
    with pytest.raises(telhook.ConfigurationError) as shared:
        telhook.Receiver(None, v["credentials"]["lisoloo"])
    assert shared.value.code == "invalid_credentials"
    with pytest.raises(telhook.ConfigurationError) as missing:
        telhook.normalize_event(
            None, headers=r["headers"], body=r["body"], credentials={"gatewayapi": {"hmac_sha256": "gw-secret"}}, now=v["now"]
        )
    assert missing.value.code == "missing_credentials"
    body = json.dumps({"type": "update", "schema": "users",
                       "data": json.dumps({"web_hook_url": "https://h.example/x?token=abc", "wirelessPin": "1"})})
    parsed = telhook.parse("did_reseller", body)
    assert parsed["data"] == '{"web_hook_url":"https://h.example/x?token=[REDACTED]","wirelessPin":"[REDACTED]"}'


def test_unset_credentials_are_named_however_the_rest_serializes() -> None:
    # `null` in the credentials' JSON is what sends the check looking: a value spelling "null"
    # passes, a None is named, and so is a None beside a value JSON cannot hold.
    receiver = telhook.Receiver("limephone", {"hmac_sha256": ["null-and-void-secret"], "bearer": "null"})
    assert receiver.provider == "limephone"
    for credentials in ({"hmac_sha256": ["s3cret-value"], "bearer": None},
                        {"hmac_sha256": [b"bytes-are-not-json", None], "bearer": "token-value"}):
        with pytest.raises(telhook.ConfigurationError) as unset:
            telhook.Receiver("limephone", credentials)  # type: ignore[arg-type]
        assert unset.value.code == "missing_credentials"
        assert unset.value.field in ("credentials.bearer", "credentials.hmac_sha256[1]")
    with pytest.raises(TypeError):
        telhook.Receiver("limephone", {"hmac_sha256": [b"bytes-are-not-json"], "bearer": "token-value"})  # type: ignore[arg-type]


def _signed_limephone(secret: str, message_id: int) -> Tuple[Dict[str, str], bytes]:
    body = json.dumps({"event": "sms_received", "message_id": message_id, "virtual_number": "+15551234567",
                       "sender_number": "+18887654321", "message_content": "hi"}).encode()
    return {"X-LimePhone-Signature": hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()}, body


def test_one_call_functions_keep_a_receiver_per_credentials_and_never_a_stale_one() -> None:
    """normalize_event and verify keep the Receivers of credentials seen lately; a rotated secret,
    given as a new dict or by editing the same one, must never be answered with the old one's."""
    telhook._KEPT_RECEIVERS.clear()
    headers_a, body = _signed_limephone("secret-a", 1)
    credentials: Dict[str, Any] = {"hmac_sha256": ["secret-a"]}
    first = telhook.normalize_event("limephone", headers=headers_a, body=body, credentials=credentials, now=1769000000)
    again = telhook.normalize_event("limephone", headers=headers_a, body=body, credentials=credentials, now=1769000000)
    assert first == again == telhook.Receiver("limephone", credentials).normalize(headers=headers_a, body=body,
                                                                                  now=1769000000)
    assert telhook.verify("limephone", headers=headers_a, body=body, credentials=credentials, now=1769000000) == "limephone"
    hits, misses, _ = telhook._KEPT_RECEIVERS.counts()
    assert (misses, hits) == (1, 2)

    # Rotated: a new dict, then the same dict edited in place. The old secret's signature is refused.
    edited = credentials
    for rotated in ({"hmac_sha256": ["secret-b"]}, edited):
        edited["hmac_sha256"] = ["secret-b"]  # the second round: the dict the first call was given
        with pytest.raises(telhook.VerificationError) as refused:
            telhook.normalize_event("limephone", headers=headers_a, body=body, credentials=rotated, now=1769000000)
        assert refused.value.code == "signature_mismatch"
        with pytest.raises(telhook.VerificationError):
            telhook.verify("limephone", headers=headers_a, body=body, credentials=rotated, now=1769000000)
    # A list and a tuple are the same JSON, and so the same receiver; the rotation pair takes both.
    headers_b, _ = _signed_limephone("secret-b", 1)
    for pair in (["secret-b", "secret-a"], ("secret-b", "secret-a")):
        for headers in (headers_a, headers_b):
            event = telhook.normalize_event("limephone", headers=headers, body=body,
                                            credentials={"hmac_sha256": pair}, now=1769000000)
            assert event["id"] == first["id"]


def test_one_call_functions_keep_few_receivers_and_no_refused_configuration() -> None:
    telhook._KEPT_RECEIVERS.clear()
    # More credential sets than are kept: each still gets its own secret's answer.
    for round_ in range(2):
        for n in range(40):
            headers, body = _signed_limephone(f"secret-{n}", n)
            event = telhook.normalize_event("limephone", headers=headers, body=body,
                                            credentials={"hmac_sha256": f"secret-{n}"}, now=1769000000)
            assert event["raw"]["message_id"] == n
            with pytest.raises(telhook.VerificationError):
                telhook.normalize_event("limephone", headers=headers, body=body,
                                        credentials={"hmac_sha256": f"secret-{n + 1}"}, now=1769000000)
    assert telhook._KEPT_RECEIVERS.counts()[2] == telhook._ONE_SHOT_RECEIVERS
    # A configuration the core refuses is refused on every call, never kept as a receiver.
    headers, body = _signed_limephone("secret-0", 0)
    for _ in range(2):
        with pytest.raises(telhook.ConfigurationError) as unset:
            telhook.normalize_event("limephone", headers=headers, body=body,
                                    credentials={"hmac_sha256": None}, now=1769000000)
        assert unset.value.code == "missing_credentials"
        with pytest.raises(telhook.ConfigurationError) as empty:
            telhook.normalize_event("limephone", headers=headers, body=body,
                                    credentials={"hmac_sha256": ""}, now=1769000000)
        assert empty.value.field == "credentials.hmac_sha256"
    # Shapes outside the key (a dict subclass, a value that is not a str) are built per call.
    class Settings(dict):  # type: ignore[type-arg]
        pass

    before = telhook._KEPT_RECEIVERS.counts()[:2]
    event = telhook.normalize_event("limephone", headers=headers, body=body,
                                    credentials=Settings(hmac_sha256="secret-0"), now=1769000000)
    assert event["raw"]["message_id"] == 0
    with pytest.raises(telhook.ConfigurationError):
        telhook.normalize_event("limephone", headers=headers, body=body,
                                credentials={"hmac_sha256": "secret-0", "bearer": 7}, now=1769000000)
    assert telhook._KEPT_RECEIVERS.counts()[:2] == before


def test_one_call_keys_hold_the_provider_and_typed_options_and_tracebacks_name_secrets_credentials() -> None:
    telhook._KEPT_RECEIVERS.clear()
    headers, body = _signed_limephone("secret-a", 3)
    # An option equal across types (1 == True) is not the same option: True is refused every time.
    with pytest.raises(telhook.RequestError):
        telhook.normalize_event("limephone", headers=headers, body=body, credentials={"hmac_sha256": "secret-a"},
                                now=1769000000, max_body_bytes=1)
    for _ in range(2):
        with pytest.raises(telhook.ConfigurationError) as refused:
            telhook.normalize_event("limephone", headers=headers, body=body, credentials={"hmac_sha256": "secret-a"},
                                    now=1769000000, max_body_bytes=True)
        assert refused.value.code == "invalid_option"
    # The provider is in the key: detection (None) and a named provider answer as their own Receivers.
    per_provider = {"limephone": {"hmac_sha256": "secret-a"}}
    for provider in ("limephone", None, "", "limephone"):
        try:
            expected: Any = telhook.Receiver(provider, per_provider).verify(headers=headers, body=body, now=1769000000)
        except telhook.WebhookError as error:
            expected = error.code
        try:
            got: Any = telhook.verify(provider, headers=headers, body=body, credentials=per_provider, now=1769000000)
        except telhook.WebhookError as error:
            got = error.code
        assert got == expected
    # A refused configuration's traceback: the secret beside the refused value is held only by
    # locals named `credentials` (what error reporters hide by name), and nothing is chained.
    for credentials in ({"hmac_sha256": "TOPSECRET-value", "bearer": ""}, {"hmac_sha256": "TOPSECRET-value", "bearer": None}):
        with pytest.raises(telhook.ConfigurationError) as refused:
            telhook.normalize_event("limephone", headers=headers, body=body, credentials=credentials, now=1769000000)
        assert refused.value.__context__ is None and refused.value.__cause__ is None
        frames = [entry.frame for entry in refused.traceback]
        holders = {name for frame in frames for name, value in frame.f_locals.items() if "TOPSECRET" in repr(value)}
        assert holders == {"credentials"}, holders


def test_one_call_keys_compare_nested_credentials_by_exact_value() -> None:
    """The kept receivers compare nested credentials item by item, exact types only: a password
    edited deep inside the same dict, a str subclass that claims equality, or credentials nested
    past the kept depth never reach a receiver built for other credentials."""
    telhook._KEPT_RECEIVERS.clear()
    body = json.dumps({"event_id": "e1", "event_type": "sms.delivered", "message_id": "m1",
                       "timestamp": "2026-05-27T10:15:08Z", "data": {"recipient_phone": "+447700900123"}}).encode()

    def basic(username: str, password: str) -> Dict[str, str]:
        import base64
        return {"Authorization": "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()}

    old = basic("hook", "old-password")
    credentials: Dict[str, Any] = {"basic": [{"username": "hook", "password": "old-password"}]}
    event = telhook.normalize_event("lisoloo", headers=old, body=body, credentials=credentials, now=1769000000)
    assert telhook.normalize_event("lisoloo", headers=old, body=body, credentials=credentials, now=1769000000) == event
    assert telhook._KEPT_RECEIVERS.counts() == (1, 1, 1)
    # Rotated deep inside the same dict: the old password is refused, the new one accepted.
    credentials["basic"][0]["password"] = "new-password"
    with pytest.raises(telhook.VerificationError):
        telhook.normalize_event("lisoloo", headers=old, body=body, credentials=credentials, now=1769000000)
    new = basic("hook", "new-password")
    assert telhook.normalize_event("lisoloo", headers=new, body=body, credentials=credentials, now=1769000000) == event

    # A str subclass equal to everything is not the kept password: built per call, and refused.
    class Anything(str):
        def __eq__(self, other: object) -> bool:
            return True

        __hash__ = str.__hash__

    before = telhook._KEPT_RECEIVERS.counts()
    forged = {"basic": [{"username": "hook", "password": Anything("forged")}]}
    with pytest.raises(telhook.VerificationError):
        telhook.normalize_event("lisoloo", headers=new, body=body, credentials=forged, now=1769000000)
    assert telhook._KEPT_RECEIVERS.counts() == before
    # Nested past the kept depth (here far past any stack): copied and compared only that deep,
    # so the lookup neither recurses without bound nor keeps it; the construction refuses it.
    for depth in (12, 100_000):
        deep: Any = "x"
        for _ in range(depth):
            deep = [deep]
        with pytest.raises((telhook.ConfigurationError, RecursionError)):
            telhook.normalize_event("lisoloo", headers=new, body=body, credentials={"basic": deep}, now=1769000000)
    assert telhook._KEPT_RECEIVERS.counts() == before
    # The cache's repr names counts, never a credential.
    assert "password" not in repr(telhook._KEPT_RECEIVERS) and "new-password" not in repr(telhook._KEPT_RECEIVERS)


def test_one_call_survives_credentials_edited_by_a_finalizer_while_they_are_copied() -> None:
    """Copying the credentials to keep allocates, and an allocation can run the garbage
    collector, whose finalizers may edit the dict being copied: the call answers as a fresh
    Receiver would (found by a reviewer: iterating the dict itself raised a Rust panic, a
    BaseException that `except Exception` does not catch)."""
    import base64
    import gc

    telhook._KEPT_RECEIVERS.clear()
    body = json.dumps({"event_id": "e1", "event_type": "sms.delivered", "message_id": "m1",
                       "timestamp": "2026-05-27T10:15:08Z", "data": {"recipient_phone": "+447700900123"}}).encode()
    headers = {"Authorization": "Basic " + base64.b64encode(b"hook:pw").decode()}
    credentials: Dict[str, Any] = {
        "basic": [{"username": "hook", "password": "pw"}] + [{"username": f"u{i}", "password": "x"} for i in range(150)],
        # A key the finalizer removes mid-copy; either way the receiver is the same.
        "insecure_skip_verification": False,
    }

    class Rotator:
        def __del__(self) -> None:
            credentials.pop("insecure_skip_verification", None)

    thresholds = gc.get_threshold()
    gc.collect()
    cycle: Any = Rotator()
    cycle.self = cycle
    del cycle
    gc.set_threshold(20)
    try:
        event = telhook.normalize_event("lisoloo", headers=headers, body=body, credentials=credentials, now=1769000000)
    finally:
        gc.set_threshold(*thresholds)
    assert event["id"] == "lisoloo:e1"
