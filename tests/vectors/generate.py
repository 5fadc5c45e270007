#!/usr/bin/env python3
"""Writes the conformance vectors under tests/vectors/<provider>/<case>.json.

Requests are signed by tests/signers.py (Python's own hmac/hashlib/base64, shared with
generate_hostile.py), independently of the Rust core, so a vector also cross-checks the core's
verification; in turn
core/tests/vectors.rs checks that the core's `sign` (the test kit) reproduces these signatures. Error expectations are written
by hand below. Success expectations ("event") are produced once by
`TELHOOK_BLESS=1 cargo test -p telhook-core --test vectors` (then run this script again to
restore the canonical layout), reviewed, and then kept: this
script preserves a blessed event as long as the vector's input is unchanged, and resets it to
null (which fails the test until re-blessed) when the input changes.

Run: python3 tests/vectors/generate.py [OUT_DIR]  (default: this directory; blessed events are
always read from this directory, so `make vectors-check` can write into a temp dir and diff)
"""
import base64
import gzip
import hashlib
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
from signers import (b64url, basic, ed25519_public, ed25519_sign, hmac_b64, hmac_hex, jwt,  # noqa: E402
                     twilio_signature, vonage_sig)
from urllib.parse import parse_qsl, urlencode  # noqa: E402
import public_gatewayapi  # noqa: E402  (tests/vectors/public_gatewayapi.py)

NOW = 1769000000  # 2026-01-21T12:53:20Z

# Secrets are distinctive so that tests can search every error message for them.
LIME_SECRET = "lime-whsec-CURRENT-5b1e"
LIME_OLD_SECRET = "lime-whsec-PREVIOUS-77c2"
LIME_BEARER = "lime-bearer-TOKEN-9f8e"
LISO_USER, LISO_PASS, LISO_OLD_PASS = "lisoloo-hook", "liso-PASS-current-4411", "liso-PASS-old-0099"
GW_HMAC = "gwapi-HMAC-secret-31d7"
GW_HMAC_OLD = "gwapi-HMAC-secret-old-8a0c"
GW_JWT = "gwapi-JWT-secret-c0ffee"
LOOP_AUTH = "Token loop-AUTH-dashboard-4b7c"
LOOP_AUTH_OLD = "Token loop-AUTH-old-1e2f"
DID_TOKEN = "did-URL-token-77aa"
DID_USER, DID_PASS = "didhook", "did-BASIC-pass-31"
VONAGE_SECRET = "vonage-SIGNATURE-secret-61b0"
VONAGE_OLD_SECRET = "vonage-SIGNATURE-old-7d3e"
# Telnyx signs with Ed25519: the receiver holds public keys only. The vectors sign with RFC 8032
# section 7.1 test keys (published private keys, test-only): TEST 1 current, TEST 2 previous,
# TEST 3 a forger's.
TELNYX_SEED = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
TELNYX_OLD_SEED = bytes.fromhex("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb")
TELNYX_FORGER_SEED = bytes.fromhex("c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7")
TWILIO_TOKEN = "twilio-AUTH-token-current-5c2d"
TWILIO_OLD_TOKEN = "twilio-AUTH-token-previous-91ab"
TWILIO_SHARED_KEY = "twilio-SHARED-key-current-e7f3"
TWILIO_OLD_SHARED_KEY = "twilio-SHARED-key-previous-2a6d"


def dumps(obj):
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


VECTORS = {}
# Authenticity is the only gate: no vector may expect these for a verified body.
SHAPE_ERRORS = {"invalid_payload", "invalid_timestamp", "malformed_nested_json"}


def vec(provider_dir, name, description, provider, body, headers, credentials, expect_error=None,
        url=None, method=None, options=None, now=NOW, body_base64=None):
    request = {}
    if method:
        request["method"] = method
    if url:
        request["url"] = url
    request["headers"] = headers
    if body_base64 is not None:
        request["body_base64"] = body_base64
    else:
        request["body"] = body
    vector = {"description": description, "provider": provider, "request": request,
              "credentials": credentials, "now": now}
    if options:
        vector["options"] = options
    assert expect_error not in SHAPE_ERRORS, f"{name}: a verified body is never refused for its shape"
    vector["expect"] = {"error": expect_error} if expect_error else {"event": None}
    key = f"{provider_dir}/{name}"
    assert key not in VECTORS, key
    VECTORS[key] = vector


# ----------------------------------------------------------------------------- LimePhone
def limephone():
    creds = {"hmac_sha256": [LIME_SECRET], "bearer": LIME_BEARER}
    rotated = {"hmac_sha256": [LIME_SECRET, LIME_OLD_SECRET], "bearer": [LIME_BEARER]}

    def h(body, secret=LIME_SECRET, bearer=LIME_BEARER):
        return {"Content-Type": "application/json", "Authorization": f"Bearer {bearer}",
                "X-LimePhone-Signature": hmac_hex(secret, body)}

    samples = {
        "incoming_call": {"event": "incoming_call", "call_id": "123456", "virtual_number": "+15551234567",
                          "caller_number": "+18887654321", "timestamp": "2025-01-30T14:00:00Z",
                          "call_status": "ringing"},
        "missed_call": {"event": "missed_call", "call_id": "789012", "virtual_number": "+15551234567",
                        "caller_number": "+18887654321", "timestamp": "2025-01-30T14:05:00Z",
                        "call_status": "missed"},
        "voicemail_received": {"event": "voicemail_received", "call_id": "567890",
                               "virtual_number": "+15551234567", "caller_number": "+18887654321",
                               "voicemail_url": "https://limephone.io/voicemails/123456",
                               "timestamp": "2025-01-30T14:10:00Z"},
        "sms_sent": {"event": "sms_sent", "message_id": "234567", "virtual_number": "+15551234567",
                     "recipient_number": "+18887654321", "message_content": "Your appointment is confirmed!",
                     "timestamp": "2025-01-30T14:15:00Z"},
        "sms_received": {"event": "sms_received", "message_id": "345678", "virtual_number": "+15551234567",
                         "sender_number": "+18887654321", "message_content": "Hi, I\u2019d like more details.",
                         "timestamp": "2025-01-30T14:20:00Z"},
    }
    for name, payload in samples.items():
        body = json.dumps(payload, indent=2, ensure_ascii=False)
        vec("limephone", f"doc_{name}", f"The doc's {name} sample, signed and with the Bearer token",
            "limephone", body, h(body), creds)
    body = dumps({"event": "call_completed", "call_id": "901234", "virtual_number": "+15551234567",
                  "callee_number": "+1 (888) 765-4321", "duration": 125, "call_status": "completed",
                  "timestamp": "2025-01-30T14:30:00Z"})
    vec("limephone", "call_completed_outbound", "An outbound call completed: callee formatted nationally with +1",
        "limephone", body, h(body), creds)
    body = dumps({"event": "call_status_update", "call_id": "123456", "virtual_number": "+15551234567",
                  "caller_number": "+18887654321", "call_status": "Answered", "timestamp": "2025-01-30T14:00:09Z"})
    vec("limephone", "call_status_update_answered", "call_status_update; the status is part of the idempotency key",
        "limephone", body, h(body), creds)
    body = dumps({"event": "call_status_update", "call_id": "123456", "virtual_number": "+15551234567",
                  "caller_number": "+18887654321", "call_status": "failed", "timestamp": "2025-01-30T14:00:40Z"})
    headers = h(body)
    headers["X-LimePhone-Signature"] = headers["X-LimePhone-Signature"].upper()
    vec("limephone", "signature_upper_hex", "Upper-case hex signature is accepted", "limephone", body, headers, creds)
    body = dumps(samples["sms_received"])
    headers = h(body)
    headers["X-LimePhone-Signature"] = hmac_b64(LIME_SECRET, body)
    vec("limephone", "signature_base64", "Base64 signature is accepted", "limephone", body, headers, creds)
    vec("limephone", "rotated_secret", "Signed with the previous secret while both are configured",
        "limephone", body, h(body, secret=LIME_OLD_SECRET), rotated)
    vec("limephone", "detected_by_signature_header", "No provider named: the signature header identifies LimePhone",
        None, body, h(body), {"limephone": creds})
    lower = {k.lower(): v for k, v in h(body).items()}
    vec("limephone", "lowercase_header_names", "Header names are case-insensitive", "limephone", body, lower, creds)
    body = dumps({"event": "fax_received", "call_id": "555", "virtual_number": "+15551234567",
                  "caller_number": "+18887654321", "timestamp": "2025-01-30T15:00:00Z", "pages": 3})
    vec("limephone", "unknown_event_type", "An event type LimePhone adds later normalizes as type other",
        "limephone", body, h(body), creds)
    body = dumps({"event": "sms_received", "message_id": 991, "virtual_number": "+15551234567",
                  "sender_number": "anonymous", "message_content": "hi", "timestamp": 1738245600,
                  "contact_name": "Ada", "tags": ["vip"]})
    vec("limephone", "unknown_fields_numeric_id_unix_time",
        "Numeric message_id, UNIX-seconds timestamp, non-phone sender, extra fields kept in raw",
        "limephone", body, h(body), creds)
    quoting = dumps({"event": "sms_received", "message_id": "345679", "virtual_number": "+15551234567",
                     "sender_number": "+18887654321", "message_content": f"is this yours? {LIME_BEARER}",
                     "timestamp": "2025-01-30T14:21:00Z"})
    vec("limephone", "configured_token_in_text_redacted", "A configured credential quoted in a message is redacted",
        "limephone", quoting, h(quoting), creds)
    vec("limephone", "insecure_skip_verification", "Explicit opt-out: no headers needed",
        "limephone", body, {"Content-Type": "application/json"}, {"insecure_skip_verification": True})
    # Long texts: in a JSON-parsing host (Node, Workers) a message text of 256 bytes or more crosses
    # once, apart from the event's JSON, and the host puts that one string in raw and in
    # message.text (core api::event_text); from 16 KiB on, the event's JSON is written into a buffer sized
    # beforehand. Escapes and non-ASCII must come out the same as in every other runtime.
    line = "Line \u2019quoted\u2019 \"text\" with a back\\slash, caf\u00e9, \U0001F4DE and a tab\t.\n"
    for name, size, what in (("long_message_text", 1536, "1.5 KiB"), ("long_message_text_24k", 24 * 1024, "24 KiB")):
        text = (line * (size // len(line) + 1))[:size]
        body = dumps({"event": "sms_received", "message_id": f"3456{size}", "virtual_number": "+15551234567",
                      "sender_number": "+18887654321", "message_content": text,
                      "timestamp": "2025-01-30T14:20:00Z"})
        vec("limephone", name, f"A {what} message text with escapes and non-ASCII: the same event in every "
            "runtime (Node shares the one string between message.text and raw)", "limephone", body, h(body), creds)
    # One-time codes and alerts open with a bracketed sender name; a text that opens like JSON
    # but is not is redacted whole only when one of its keys names a secret, and prose is no map.
    for name, text in [("bracketed_pin_prose", "[Bank] Your PIN=1234. Do not share it."),
                       ("bracketed_link_with_token", "[Acme] Reset: acme.example/r?token=abc123 (valid 10 min)")]:
        body = dumps({"event": "sms_received", "message_id": f"34570{len(name) % 10}",
                      "virtual_number": "+15551234567", "sender_number": "+18887654321",
                      "message_content": text, "timestamp": "2025-01-30T14:30:00Z"})
        vec("limephone", f"text_{name}", f"A message text {text!r}: not a map, so kept (a query value named "
            "token still redacted)", "limephone", body, h(body), creds)
    # A sender that cuts a text at a UTF-16 length splits an emoji, and its JSON writer escapes the
    # half it kept: Python's json.dumps (ensure_ascii, its default) wrote this body, and since
    # ES2019 JavaScript's JSON.stringify writes the same (tc39/proposal-well-formed-stringify).
    # Valid JSON by RFC 8259's grammar; the verified event is kept, the half read as U+FFFD.
    cut = "Running late \U0001F600 see you at 5 \U0001F600".encode("utf-16-le")[:-2].decode("utf-16-le", "surrogatepass")
    body = json.dumps({"event": "sms_received", "message_id": "345690", "virtual_number": "+15551234567",
                       "sender_number": "+18887654321", "message_content": cut,
                       "timestamp": "2025-01-30T14:25:00Z"}, separators=(",", ":"))
    assert body.endswith('5 \\ud83d","timestamp":"2025-01-30T14:25:00Z"}'), body
    vec("limephone", "text_cut_mid_emoji", "A message text cut inside an emoji, its lone half escaped as "
        "json.dumps and JSON.stringify write it: the event is kept, the half read as U+FFFD",
        "limephone", body, h(body), creds)
    # Negative cases.
    good = dumps(samples["incoming_call"])
    vec("limephone", "err_wrong_secret", "Signed with a secret that is not configured", "limephone",
        good, h(good, secret="attacker-guess"), creds, "signature_mismatch")
    vec("limephone", "err_old_secret_not_configured", "Previous secret after rotation finished", "limephone",
        good, h(good, secret=LIME_OLD_SECRET), creds, "signature_mismatch")
    tampered = good.replace("ringing", "answered")
    vec("limephone", "err_body_tampered", "Signature of the original body, body changed", "limephone",
        tampered, h(good), creds, "signature_mismatch")
    headers = h(good)
    del headers["X-LimePhone-Signature"]
    vec("limephone", "err_missing_signature", "No signature header", "limephone", good, headers, creds,
        "missing_signature")
    headers = h(good)
    headers["X-LimePhone-Signature"] = ""
    vec("limephone", "err_empty_signature", "An empty signature never passes", "limephone", good, headers,
        creds, "invalid_signature_format")
    headers = h(good)
    headers["X-LimePhone-Signature"] = headers["X-LimePhone-Signature"][:20]
    vec("limephone", "err_short_signature", "A truncated signature never passes", "limephone", good, headers,
        creds, "invalid_signature_format")
    vec("limephone", "err_wrong_bearer", "Valid signature, wrong Bearer token", "limephone", good,
        h(good, bearer="not-the-token"), creds, "authorization_mismatch")
    vec("limephone", "err_missing_credentials", "No credentials configured and no explicit opt-out",
        "limephone", good, h(good), None, "missing_credentials")
    bad = '{"event": "incoming_call", "call_id": '
    vec("limephone", "err_malformed_json", "Correctly signed but truncated JSON", "limephone", bad, h(bad),
        creds, "malformed_json")
    arr = '[{"event":"incoming_call"}]'
    vec("limephone", "shape_json_array", "Correctly signed JSON of the wrong shape (array): verified, so still an event", "limephone",
        arr, h(arr), creds)
    wrong = '{"event": 5, "call_id": "1"}'
    vec("limephone", "shape_event_not_string", "Correctly signed JSON with a number as event: verified, so still an event", "limephone",
        wrong, h(wrong), creds)
    vec("limephone", "err_body_too_large", "Body over a 64-byte limit", "limephone", good, h(good), creds,
        "body_too_large", options={"max_body_bytes": 64})
    pairs = [[k, v] for k, v in h(good).items()] + [["x-limephone-signature", hmac_hex("other", good)]]
    vec("limephone", "err_conflicting_duplicate_signature", "Two signature headers with different values",
        "limephone", good, pairs, creds, "ambiguous_header")
    ts = dumps({"event": "incoming_call", "call_id": "1", "virtual_number": "+15551234567",
                "caller_number": "+18887654321", "timestamp": "yesterday"})
    vec("limephone", "shape_unreadable_timestamp", "A timestamp that is not a time: verified, so still an event", "limephone", ts, h(ts),
        creds)
    vec("limephone", "err_get_method", "Webhooks are POSTed", "limephone", good, h(good), creds,
        "method_not_allowed", method="GET")


# ----------------------------------------------------------------------------- Lisoloo
def lisoloo():
    creds = {"basic": [{"username": LISO_USER, "password": LISO_PASS}]}
    rotated = {"basic": [{"username": LISO_USER, "password": LISO_PASS},
                         {"username": LISO_USER, "password": LISO_OLD_PASS}]}

    def h(password=LISO_PASS, user=LISO_USER):
        return {"Content-Type": "application/json", "Authorization": basic(user, password)}

    def ev(event_type, event_id, data, ts="2026-05-27T10:15:08Z", message_id="507f1f77bcf86cd799439011"):
        return json.dumps({"event_id": event_id, "event_type": event_type, "timestamp": ts,
                           "message_id": message_id, "data": data}, indent=2)

    doc = ev("sms.delivered", "f8a3b7c1-2e4d-4a9b-9d8f-7c6e5b4a3d2c", {"recipient_phone": "+4512345678"})
    vec("lisoloo", "doc_envelope_delivered", "The doc's envelope as sms.delivered", "lisoloo", doc, h(), creds)
    steps = [("sms.pending", "0b6f0f0e-8a57-4c55-9a43-55c3b0e1a001", "2026-05-27T10:15:00Z"),
             ("sms.processing", "0b6f0f0e-8a57-4c55-9a43-55c3b0e1a002", "2026-05-27T10:15:01Z"),
             ("sms.sent", "0b6f0f0e-8a57-4c55-9a43-55c3b0e1a003", "2026-05-27T10:15:03Z")]
    for event_type, event_id, ts in steps:
        body = ev(event_type, event_id, {"recipient_phone": "+4512345678"}, ts)
        vec("lisoloo", event_type.replace(".", "_"), f"Lifecycle step {event_type}", "lisoloo", body, h(), creds)
    body = ev("sms.failed", "0b6f0f0e-8a57-4c55-9a43-55c3b0e1a004",
              {"recipient_phone": "+44 7700 900123", "error_code": 34, "error_message": "Absent subscriber"})
    vec("lisoloo", "sms_failed_with_error", "A failure with an error code and message", "lisoloo", body, h(), creds)
    body = ev("sms.expired", "0b6f0f0e-8a57-4c55-9a43-55c3b0e1a005", {"recipient_phone": "+4512345678"},
              "2026-05-27T12:15:08+02:00")
    vec("lisoloo", "sms_expired_offset_timestamp", "A timestamp with an offset is converted to UTC", "lisoloo",
        body, h(), creds)
    body = ev("sms.clicked", "0b6f0f0e-8a57-4c55-9a43-55c3b0e1a006", {"recipient_phone": "+4512345678",
                                                                       "url": "https://example.com/x"})
    vec("lisoloo", "unknown_event_type", "An event type this version does not know normalizes as other",
        "lisoloo", body, h(), creds)
    vec("lisoloo", "rotated_password", "The previous password while both are configured", "lisoloo", doc,
        h(LISO_OLD_PASS), rotated)
    vec("lisoloo", "detected_by_body", "No provider named: the envelope shape identifies Lisoloo", None,
        doc, h(), {"lisoloo": creds})
    body = ev("sms.delivered", "0b6f0f0e-8a57-4c55-9a43-55c3b0e1a007",
              {"recipient_phone": "+4512345678", "segments": 2, "price": {"amount": "0.05", "currency": "EUR"}})
    vec("lisoloo", "unknown_data_fields", "New data fields are kept in raw", "lisoloo", body, h(), creds)
    # raw's numbers in the one form every runtime gives (README: "Numbers in raw"): the body is
    # spliced as text, since Python's json would rewrite the numbers before they are signed.
    numbers = ('{"event_id":"e-numbers","event_type":"sms.sent","timestamp":"2026-05-27T10:15:08Z",'
               '"message_id":"m-numbers","data":{"recipient_phone":"+4512345678","one":1.0,"hundred":1e2,'
               '"minus_zero":-0,"minus_zero_float":-0.0,"tenth":0.1,"safe":9007199254740991,'
               '"unsafe":9007199254740992,"unsafe_negative":-9007199254740993,'
               '"u64":12345678901234567890,"big_float":1.5e300}}')
    vec("lisoloo", "numbers_in_raw_one_form", "Integers beyond 2^53 as exact strings, 1.0/1e2/-0 as integers",
        "lisoloo", numbers, h(), creds)
    # Negative cases.
    vec("lisoloo", "err_wrong_password", "Wrong Basic password", "lisoloo", doc, h("guess"), creds,
        "authorization_mismatch")
    vec("lisoloo", "err_wrong_username", "Right password, wrong username", "lisoloo", doc,
        h(user="admin"), creds, "authorization_mismatch")
    vec("lisoloo", "err_missing_authorization", "No Authorization header", "lisoloo", doc,
        {"Content-Type": "application/json"}, creds, "missing_authorization")
    vec("lisoloo", "err_basic_no_colon", "Basic credentials without a colon", "lisoloo", doc,
        {"Authorization": "Basic " + base64.b64encode(b"nocolon").decode()}, creds,
        "invalid_authorization_format")
    vec("lisoloo", "err_basic_bad_base64", "Basic credentials that are not base64", "lisoloo", doc,
        {"Authorization": "Basic %%%not-base64%%%"}, creds, "invalid_authorization_format")
    vec("lisoloo", "err_bearer_instead_of_basic", "A Bearer token where Basic is configured", "lisoloo",
        doc, {"Authorization": f"Bearer {LISO_PASS}"}, creds, "invalid_authorization_format")
    vec("lisoloo", "err_missing_credentials", "No credentials configured", "lisoloo", doc, h(), None,
        "missing_credentials")
    missing = dumps({"event_type": "sms.sent", "timestamp": "2026-05-27T10:15:08Z"})
    vec("lisoloo", "shape_missing_event_id", "An envelope without event_id: verified, so still an event", "lisoloo", missing, h(), creds)
    vec("lisoloo", "err_malformed_json", "Not JSON at all", "lisoloo", "event_id=1&event_type=sms.sent",
        h(), creds, "malformed_json")


# ----------------------------------------------------------------------------- GatewayAPI
def gatewayapi():
    creds = {"hmac_sha256": GW_HMAC, "jwt_hs256": GW_JWT}

    def h(body, secret=GW_HMAC):
        return {"Content-Type": "application/json", "Signature": "v1=" + hmac_hex(secret, body)}

    def hj(claims, secret=GW_JWT, header=None):
        return {"Content-Type": "application/json", "X-Gwapi-Signature": jwt(secret, claims, header)}

    status = {"event_id": "9c3e1a52-4b8d-4e0a-a1f3-0c9b7d6e5f41", "timestamp": "2026-03-02T09:00:05Z",
              "event_type": "message.status.sms",
              "event": {"msg_id": "01HQ8ZK7D3W3M1Y6T5P0E2B9AX", "recipient": 4512345678, "reference": "order-1042",
                        "status": "DELIVERED", "status_at": "2026-03-02T09:00:03Z", "error": None}}
    body = json.dumps(status, indent=2)
    vec("gatewayapi", "messaging_status_delivered", "Messaging API status event, Signature v1", "gatewayapi",
        body, h(body), creds)
    failed = json.loads(json.dumps(status))
    failed["event_id"] = "9c3e1a52-4b8d-4e0a-a1f3-0c9b7d6e5f42"
    failed["event"].update({"status": "UNDELIVERABLE", "status_at": "2026-03-02T09:01:00Z",
                            "error": {"hex_code": "0x0B", "details": "Absent subscriber"}})
    body = dumps(failed)
    vec("gatewayapi", "messaging_status_undeliverable", "Status event with error{hex_code, details}",
        "gatewayapi", body, h(body), creds)
    rcs = json.loads(json.dumps(status))
    rcs.update({"event_id": "9c3e1a52-4b8d-4e0a-a1f3-0c9b7d6e5f43", "event_type": "message.status.rcs"})
    rcs["event"].update({"status": "READ", "status_at": "2026-03-02T09:05:00Z"})
    body = dumps(rcs)
    vec("gatewayapi", "messaging_status_rcs_read", "RCS READ ranks above DELIVERED", "gatewayapi", body,
        h(body), creds)
    basic = json.loads(json.dumps(status))
    basic.update({"event_id": "9c3e1a52-4b8d-4e0a-a1f3-0c9b7d6e5f44"})
    basic["event"].update({"status_at": "2026-03-02T11:00:03+0200"})
    body = dumps(basic)
    vec("gatewayapi", "messaging_status_at_basic_offset", "status_at (documented as ISO 8601) with the basic "
        "offset +0200, as PHP's DATE_ISO8601 and Java's Z pattern write it: read as 09:00:03Z, not left unread "
        "for the envelope's delivery time", "gatewayapi", body, h(body), creds)
    mo = {"event_id": "4e2d1c0b-9a8f-4e7d-b6c5-a4b3c2d1e0f9", "timestamp": "2026-03-02T10:00:01Z",
          "event_type": "user-message.text.sms",
          "event": {"msg_id": "01HQ90A1B2C3D4E5F6G7H8J9KM", "sender": 4587654321, "recipient": 4560575797,
                    "sent_at": "2026-03-02T10:00:00Z",
                    "content": {"message": "STOP", "encoding": "GSM7", "header": None}}}
    body = dumps(mo)
    vec("gatewayapi", "messaging_incoming_sms", "Messaging API incoming SMS", "gatewayapi", body, h(body), creds)
    other = {"event_id": "7f6e5d4c-3b2a-4190-8f7e-6d5c4b3a2910", "timestamp": "2026-03-02T11:00:00Z",
             "event_type": "account.balance.low", "event": {"balance": "4.20", "currency": "EUR"}}
    body = dumps(other)
    vec("gatewayapi", "messaging_unknown_event_type", "An unknown event_type normalizes as other", "gatewayapi",
        body, h(body), creds)
    body = dumps(status)
    two = {"Signature": f"v1={hmac_hex(GW_HMAC_OLD, body)},v1={hmac_hex(GW_HMAC, body)}"}
    vec("gatewayapi", "signature_header_two_entries", "Two v1 entries (sender-side rotation): one matches",
        "gatewayapi", body, two, creds)
    eight = [f"v1={hmac_hex(f'retired-{i}', body)}" for i in range(7)] + [f"v1={hmac_hex(GW_HMAC, body)}"]
    vec("gatewayapi", "signature_header_eight_entries", "Eight v1 entries (the cap), the last one matches",
        "gatewayapi", body, {"Signature": ",".join(eight)}, creds)
    garbled_first = {"Signature": f"v1=zz, v2=future,v1={hmac_hex(GW_HMAC, body)}"}
    vec("gatewayapi", "signature_header_garbled_entry_first",
        "A malformed v1 entry and another version listed before the matching v1: it still verifies",
        "gatewayapi", body, garbled_first, creds)
    vec("gatewayapi", "rotated_hmac_secret", "Signed with the previous secret while both are configured",
        "gatewayapi", body, h(body, GW_HMAC_OLD), {"hmac_sha256": [GW_HMAC, GW_HMAC_OLD]})
    vec("gatewayapi", "named_with_per_provider_credentials",
        "A named provider reads its own entry of per-provider credentials", "gatewayapi", body, h(body),
        {"gatewayapi": creds, "lisoloo": {"hmac_sha256": "liso-HMAC-other-5e1f"}})
    vec("gatewayapi", "detected_by_signature", "No provider named: Signature v1= identifies GatewayAPI", None,
        body, h(body), {"gatewayapi": creds})
    dlr = {"id": 1000001, "msisdn": 4512345678, "time": 1740905403, "status": "DELIVERED",
           "userref": "order-1042", "charge_status": "CAPTURED", "country_code": "DK", "country_prefix": 45}
    body = json.dumps(dlr)
    vec("gatewayapi", "legacy_dlr_jwt", "Legacy delivery report with X-Gwapi-Signature JWT", "gatewayapi",
        body, hj(dlr), creds)
    enroute = dict(dlr, status="ENROUTE", time=1740905401)
    body = json.dumps(enroute)
    vec("gatewayapi", "legacy_dlr_enroute", "Legacy ENROUTE report", "gatewayapi", body, hj(enroute), creds)
    rejected = dict(dlr, status="REJECTED", error="Destination blocked", code="0x0A")
    body = json.dumps(rejected)
    vec("gatewayapi", "legacy_dlr_rejected_with_error", "Legacy REJECTED with error and hex code", "gatewayapi",
        body, hj(rejected), creds)
    legacy_mo = {"id": 2000001, "msisdn": 4587654321, "receiver": 4560575797, "message": "foo hello world",
                 "senttime": 1740906000, "webhook_label": "inbound", "country_code": "DK", "country_prefix": 45}
    body = json.dumps(legacy_mo)
    exact = '{"id": 1000002, "msisdn": 4512345678, "time": 1740905403, "status": "DELIVERED", "userref": "order-1043", "country_prefix": 45.0}'
    vec("gatewayapi", "legacy_dlr_jwt_numbers_compared_by_value",
        "JWT claims carry the body; 45.0 in the body equals 45 in the claims", "gatewayapi", exact,
        hj(dict(json.loads(exact), country_prefix=45)), creds)
    vec("gatewayapi", "legacy_mo_jwt", "Legacy MO SMS with JWT", "gatewayapi", body, hj(legacy_mo), creds)
    vec("gatewayapi", "detected_by_jwt_header", "No provider named: X-Gwapi-Signature identifies GatewayAPI",
        None, body, hj(legacy_mo), {"gatewayapi": creds})
    # Negative cases.
    body = dumps(status)
    vec("gatewayapi", "err_wrong_hmac", "Signature v1 with the wrong secret", "gatewayapi", body,
        h(body, "nope"), creds, "signature_mismatch")
    vec("gatewayapi", "err_signature_without_v1", "A Signature header without v1=", "gatewayapi", body,
        {"Signature": hmac_hex(GW_HMAC, body)}, creds, "invalid_signature_format")
    vec("gatewayapi", "err_signature_v1_empty", "v1= with nothing after it", "gatewayapi", body,
        {"Signature": "v1="}, creds, "invalid_signature_format")
    vec("gatewayapi", "err_no_signature", "Neither Signature nor X-Gwapi-Signature", "gatewayapi", body,
        {"Content-Type": "application/json"}, creds, "missing_signature")
    body = json.dumps(dlr)
    vec("gatewayapi", "err_jwt_alg_none", "JWT with alg none", "gatewayapi", body,
        {"X-Gwapi-Signature": b64url(b'{"alg":"none","typ":"JWT"}') + "." + b64url(json.dumps(dlr).encode()) + "."},
        creds, "jwt_algorithm_not_allowed")
    vec("gatewayapi", "err_jwt_alg_rs256", "JWT claiming RS256", "gatewayapi", body,
        hj(dlr, header={"alg": "RS256", "typ": "JWT"}), creds, "jwt_algorithm_not_allowed")
    vec("gatewayapi", "err_jwt_wrong_secret", "JWT signed with another secret", "gatewayapi", body,
        hj(dlr, secret="other"), creds, "signature_mismatch")
    vec("gatewayapi", "err_jwt_for_other_body", "A valid JWT replayed with a different body", "gatewayapi",
        json.dumps(dict(dlr, status="UNDELIVERABLE")), hj(dlr), creds, "jwt_payload_mismatch")
    vec("gatewayapi", "err_jwt_expired", "A JWT whose exp has passed", "gatewayapi", body,
        hj(dict(dlr, exp=NOW - 60)), creds, "jwt_expired")
    vec("gatewayapi", "err_jwt_two_parts", "A JWT with two parts", "gatewayapi", body,
        {"X-Gwapi-Signature": "abc.def"}, creds, "jwt_malformed")
    huge = '{"id": 1, "msisdn": 123456789012345678901234567890, "status": "DELIVERED", "time": 1740905403}'
    vec("gatewayapi", "shape_msisdn_overflow", "An msisdn that overflows 64 bits: verified, so still an event", "gatewayapi", huge,
        h(huge), creds)
    empty = "{}"
    vec("gatewayapi", "shape_empty_object", "Signed {} matches no GatewayAPI shape: verified, so still an event", "gatewayapi", empty,
        h(empty), creds)
    vec("gatewayapi", "err_missing_credentials", "No credentials configured", "gatewayapi", body, hj(dlr),
        None, "missing_credentials")
    public_gatewayapi.build(vec, h, hj, creds, dumps, jwt, GW_HMAC, GW_JWT)

# ----------------------------------------------------------------------------- Vonage
SDK = "tests/fixtures/sdk/vonage.json"


def vonage():
    """Messages API signed webhooks: Bearer HS256 JWT whose payload_hash is the body's SHA-256."""
    creds = {"jwt_hs256": VONAGE_SECRET}

    def claims(body, iat=NOW - 2, **extra):
        return dict({"iat": iat, "jti": "c5ba8f24-1a14-4c10-bfdf-3fbe8ce511b5", "iss": "Vonage",
                     "payload_hash": hashlib.sha256(body.encode()).hexdigest(), "api_key": "a1b2c3d",
                     "application_id": "aaaaaaaa-bbbb-cccc-dddd-0123456789ab"}, **extra)

    def h(body, secret=VONAGE_SECRET, header=None, **claim_overrides):
        token = jwt(secret, claims(body, **claim_overrides), header)
        return {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}

    status = {"message_uuid": "aaaaaaaa-bbbb-cccc-dddd-0123456789ab", "to": "447700900000",
              "from": "447700900001", "timestamp": "2026-01-21T12:50:00Z", "status": "delivered",
              "usage": {"currency": "EUR", "price": "0.0333"}, "client_ref": "order-1042", "channel": "sms"}
    for word in ("submitted", "delivered", "read", "rejected", "undeliverable"):
        body = dumps(dict(status, status=word))
        vec("vonage", f"status_{word}", f"Messages API status callback '{word}' (the docs' status shape), "
            "signed as Vonage signs: HS256 JWT with the body's payload_hash", "vonage", body, h(body), creds)
    failed = dict(status, status="rejected", error={
        "type": "https://developer.nexmo.com/api-errors/messages-olympus#1320", "title": 1320,
        "detail": "Message failed because the number is blocked", "instance": "bf0ca0bf927b3b52e3cb03217e1a1ddf"})
    body = dumps(failed)
    vec("vonage", "status_rejected_with_error", "A rejected status with the Messages API error object: "
        "title (a number) is the code, detail the description", "vonage", body, h(body), creds)
    inbound = {"channel": "sms", "message_uuid": "bbbbbbbb-cccc-dddd-eeee-0123456789ab", "to": "447700900000",
               "from": "447700900001", "timestamp": "2026-01-21T12:50:00Z", "text": "Hello From Vonage!",
               "message_type": "text", "sms": {"num_messages": "1", "keyword": "HELLO"},
               "usage": {"currency": "EUR", "price": "0.0333"}}
    body = dumps(inbound)
    vec("vonage", "inbound_sms", "An inbound SMS (the docs' inbound shape)", "vonage", body, h(body), creds)
    whatsapp = {"channel": "whatsapp", "message_uuid": "cccccccc-dddd-eeee-ffff-0123456789ab",
                "to": "447700900000", "from": "447700900002", "timestamp": "2026-01-21T12:51:00Z",
                "message_type": "text", "text": "Hi", "profile": {"name": "Jane"}}
    body = dumps(whatsapp)
    vec("vonage", "inbound_whatsapp", "An inbound WhatsApp text: numbers as E.164", "vonage", body, h(body), creds)
    # developer.vonage.com/en/blog/secure-your-inbound-media-files-with-the-vonage-messages-api
    # (2023-04-04): its inbound image example, the media url from
    # developer.vonage.com/en/messages/concepts/secure-inbound-media.
    image = {"channel": "messenger", "message_uuid": "aaaaaaaa-bbbb-cccc-dddd-0123456789ab", "to": "9876543210",
             "from": "0123456789", "timestamp": "2023-01-01T14:00:00.000Z", "message_type": "image",
             "image": {"url": "https://api-us.nexmo.com/v3/media/1b456509-974c-458b-aafa-45fc48a4d976"}}
    body = dumps(image)
    vec("vonage", "doc_inbound_image", "Vonage's inbound image example (developer.vonage.com blog 'Secure Your "
        "Inbound Media Files With the Vonage Messages API', 2023-04-04): no text, the media url in raw",
        "vonage", body, h(body), creds)
    # The same with the optional caption @vonage/messages documents on an image object
    # (dist/lib/interfaces/ImageObject.d.ts: "An optional caption to accompany the image"), as a
    # WhatsApp user sends it: the caption is the message's text.
    captioned = dict(image, channel="whatsapp", to="447700900000", **{"from": "447700900002"},
                     image=dict(image["image"], caption="Damage to the parcel on arrival"))
    body = dumps(captioned)
    vec("vonage", "inbound_image_with_caption", "An inbound WhatsApp image with the caption @vonage/messages' "
        "ImageObject documents (optional): the caption is message.text, the url stays in raw",
        "vonage", body, h(body), creds)
    messenger = {"channel": "messenger", "message_uuid": "dddddddd-eeee-ffff-0000-0123456789ab",
                 "to": "1234567890123456", "from": "6543210987654321", "timestamp": "2026-01-21T12:52:00Z",
                 "message_type": "text", "text": "Hello"}
    body = dumps(messenger)
    vec("vonage", "inbound_messenger_ids_are_no_addresses", "Messenger carries its own user ids: from/to "
        "stay null, raw keeps them", "vonage", body, h(body), creds)
    olympus = "Nexmo/api-specification definitions/messages-olympus.yml (api.nexmo.com/v0.1)"
    v01_status = {"message_uuid": "aaaaaaaa-bbbb-cccc-dddd-0123456789ab",
                  "to": {"type": "sms", "number": "447700900000"}, "from": {"type": "sms", "number": "447700900001"},
                  "timestamp": "2020-01-01T14:00:00.000Z", "status": "rejected",
                  "error": {"code": 1300, "reason": "Not part of the provider network"},
                  "usage": {"currency": "EUR", "price": "0.0333"}, "client_ref": "my-personal-reference"}
    body = dumps(v01_status)
    vec("vonage", "public_v0_1_status_rejected", f"{olympus} MessageStatus example: no channel, addresses as "
        "{type, number} objects, the error as {code, reason}: all read", "vonage", body, h(body), creds)
    v01_inbound = {"message_uuid": "aaaaaaaa-bbbb-cccc-dddd-0123456789ab",
                   "to": {"type": "sms", "number": "447700900000"}, "from": {"type": "sms", "number": "447700900001"},
                   "timestamp": "2020-01-01T14:00:00.000Z",
                   "message": {"content": {"type": "text", "text": "Hello From Vonage!"}},
                   "usage": {"currency": "EUR", "price": "0.0333"}}
    body = dumps(v01_inbound)
    vec("vonage", "public_v0_1_inbound_sms", f"{olympus} SmsInbound example: the text in message.content.text",
        "vonage", body, h(body), creds)
    viber = {"message_uuid": "aaaaaaaa-bbbb-cccc-dddd-0123456789ab", "to": "447700900000", "from": "16273",
             "timestamp": "2026-01-21T12:50:00Z", "status": "delivered", "channel": "viber_service"}
    body = dumps(viber)
    vec("vonage", "public_viber_status_to_the_users_number", "A Viber status (Vonage/vonage-curl-code-snippets "
        "messages/sandbox/viber/send-text.sh sends to a phone number from a service id): to is the user's number, "
        "the service id is no address", "vonage", body, h(body), creds)
    # A Voice API webhook by GET (the answer webhook's default, event_method=GET): payload_hash is the
    # SHA-256 of the query parameters as one JSON object without whitespace (Vonage support article
    # 19033783342876, "Verifying signed webhooks").
    query_params = [("to", "442079460000"), ("from", "447700900000"),
                    ("conversation_uuid", "CON-aaaaaaaa-bbbb-cccc-dddd-0123456789ab"),
                    ("uuid", "aaaaaaaa-bbbb-cccc-dddd-0123456789ab"), ("status", "ringing"),
                    ("direction", "inbound"), ("timestamp", "2020-01-01T12:00:00.000Z")]
    get_url = "https://hooks.example.com/vonage/event?" + urlencode(query_params)
    signed_json = json.dumps(dict(query_params), separators=(",", ":"))
    get_headers = {"Authorization": "Bearer " + jwt(VONAGE_SECRET, claims(signed_json))}
    vec("vonage", "public_voice_event_by_get", "A Voice API event webhook sent by GET (event_method=GET), its "
        "JWT's payload_hash the SHA-256 of the query parameters as JSON (Vonage support article 19033783342876)",
        "vonage", "", get_headers, creds, url=get_url, method="GET")
    vec("vonage", "err_voice_get_query_changed", "The same JWT on a GET whose query says another status: "
        "payload_hash covers the parameters", "vonage", "", get_headers, creds, "jwt_payload_mismatch",
        url=get_url.replace("status=ringing", "status=completed"), method="GET")
    vec("vonage", "err_voice_get_hash_of_no_body", "A GET whose payload_hash is of the empty body covers none "
        "of its parameters", "vonage", "", {"Authorization": "Bearer " + jwt(VONAGE_SECRET, claims(""))}, creds,
        "jwt_payload_mismatch", url=get_url, method="GET")
    # Voice API event webhooks, the SDK's own fixtures byte for byte (their bodies' text), signed
    # here as Vonage signs its callbacks: a call leg's statuses, never message statuses.
    dotnet = "Vonage/vonage-dotnet-sdk Vonage.Test/Voice/Data/{}"
    commits = {"Answered.json": "e89c7c0d87f8129aa667e51a49337373d8f7576b",
               "Completed.json": "5e1d8df45248bd2b16c91b40226097b79c0ddc38",
               "Failed.json": "7260a505ba2ecd60eba323f2a8f0e1c3c705896c",
               "HumanMachine.json": "e89c7c0d87f8129aa667e51a49337373d8f7576b"}
    leg = '"uuid": "aaaaaaaa-bbbb-cccc-dddd-0123456789ab",\n  "conversation_uuid": "CON-aaaaaaaa-bbbb-cccc-dddd-0123456789ab",\n'
    voice = {
        "Answered.json": '{\n  "from": "442079460000",\n  "to": "447700900000",\n  ' + leg + '  "status": "answered",\n'
        '  "direction": "outbound",\n  "timestamp": "2020-01-01T12:00:00.000Z",\n  "start_time": "2020-01-01T12:00:00.000Z",\n'
        '  "rate": "0.02",\n  "network": "1234"\n}',
        "Completed.json": '{\n  "from": "442079460000",\n  "to": "447700900000",\n  ' + leg + '  "status": "completed",\n'
        '  "direction": "outbound",\n  "timestamp": "2020-01-01T12:00:00.000Z",\n  "start_time": "2020-01-01T12:00:00.000Z",\n'
        '  "end_time": "2020-01-01T12:00:01.000Z",\n  "rate": "0.02",\n  "price": "0.03",\n  "network": "1234",\n'
        '  "duration": "2",\n  "sip_code": 404,\n  "disconnected_by": "user"\n}',
        "Failed.json": '{\n  "from": "442079460000",\n  "to": "447700900000",\n  ' + leg + '  "status": "rejected",\n'
        '  "direction": "outbound",\n  "timestamp": "2020-01-01T12:00:00.000Z",\n  "detail": "as-yet-unknown-detail",\n'
        '  "sip_code": 404\n}',
        "HumanMachine.json": '{\n  "from": "442079460000",\n  "to": "447700900000",\n  "call_uuid": '
        '"aaaaaaaa-bbbb-cccc-dddd-0123456789ab",\n  "conversation_uuid": "CON-aaaaaaaa-bbbb-cccc-dddd-0123456789ab",\n'
        '  "status": "machine",\n  "direction": "outbound",\n  "timestamp": "2020-01-01T12:00:00.000Z"\n}',
    }
    machine = {"from": "442079460000", "to": "447700900000", "call_uuid": "aaaaaaaa-bbbb-cccc-dddd-0123456789ab",
               "conversation_uuid": "CON-aaaaaaaa-bbbb-cccc-dddd-0123456789ab", "status": "machine",
               "direction": "outbound", "timestamp": "2020-01-01T12:00:04.000Z", "sub_state": "beep_start"}
    body = dumps(machine)
    vec("vonage", "voice_event_machine_beep_start", "Advanced Machine Detection's second machine event of a "
        "leg (sub_state beep_start, Vonage's Voice API webhook reference): its own event beside HumanMachine.json's",
        "vonage", body, h(body), creds)
    # Voice API events that name no leg, or no leg's status (the same SDK folder at 8cad0859,
    # the fixtures' text as committed, a BOM dropped): read as Messages API payloads before — a
    # transcription (status "transcribed") was a message status whose ledger update raised.
    no_leg_status = {
        "Record.json": ("recording", "the record action's event: a recording, no leg; other",
                        '{\n  "timestamp": "2020-01-01T12:00:00.000Z",\n  "start_time": "2020-01-01T12:00:00.000Z",\n'
                        '  "end_time": "2020-01-01T12:00:01.000Z",\n  "recording_url": "https://api.nexmo.com/v1/files/'
                        'bbbbbbbb-aaaa-cccc-dddd-0123456789ab",\n  "size": 12222,\n  "recording_uuid": '
                        '"aaaaaaaa-bbbb-cccc-dddd-0123456789ab",\n  "conversation_uuid": "CON-aaaaaaaa-bbbb-cccc-dddd-0123456789ab"\n}'),
        "TranscriptionWebhook.json": ("transcription", "a transcription's callback (status transcribed): other, "
                                      "never a message status",
                                      '{\n  "conversation_uuid": "CON-aaaaaaaa-bbbb-cccc-dddd-0123456789ab",\n  '
                                      '"recording_uuid": "aaaaaaaa-bbbb-cccc-dddd-0123456789ab",\n  "status": "transcribed",\n'
                                      '  "transcription_url": "https://api.nexmo.com/v1/files/bbbbbbbb-aaaa-cccc-dddd-'
                                      '0123456789ab",\n  "type": "record"\n}\n\n'),
        "Transfer.json": ("transfer", "a leg moved to another conversation: call.status of that leg",
                          '{\n  "uuid": "aaaaaaaa-bbbb-cccc-dddd-0123456789ab",\n  "conversation_uuid_from": '
                          '"CON-aaaaaaaa-bbbb-cccc-dddd-0123456789ab",\n  "conversation_uuid_to": '
                          '"CON-aaaaaaaa-bbbb-cccc-dddd-0123456789ab",\n  "timestamp": "2020-01-01T12:00:00.000Z"\n}'),
        "Error.json": ("error", "an NCCO error (reason): other",
                       '{\n  "reason": "Syntax error in NCCO. Invalid value type or action.",\n  "conversation_uuid": '
                       '"CON-aaaaaaaa-bbbb-cccc-dddd-0123456789ab",\n  "timestamp": "2020-01-01T12:00:00.000Z"\n}'),
        "Notification.json": ("notification", "a notify action's payload: other",
                              '{\n  "conversation_uuid": "CON-aaaaaaaa-bbbb-cccc-dddd-0123456789ab",\n  "payload": {\n'
                              '    "bar": "foo"\n  },\n  "timestamp": "2020-01-01T12:00:00.000Z"\n}'),
    }
    for fixture, (name, what, text) in no_leg_status.items():
        vec("vonage", f"voice_event_{name}", f"{dotnet.format(fixture)}@8cad0859af710634ac70c2a5cd2f03c7b11903b9 "
            f"(the fixture's text, its BOM dropped): {what}; provider_event_type names it", "vonage", text, h(text), creds)
    # The input action's events (the same SDK folder at 8cad0859, the fixtures' text with its BOM
    # dropped): the caller's DTMF or speech, no status of the leg. A call.status with no status
    # before (a review of the SDKs' fixtures).
    inputs = {
        "MultiInputDtmf.json": ("input_dtmf", '{\n  "from": "442079460000",\n  "to": "447700900000",\n  ' + leg +
                                '  "dtmf": {\n    "digits": "42",\n    "timed_out": false\n  },\n'
                                '  "timestamp": "2020-01-01T12:00:00.000Z"\n}'),
        "MultiInputSpeech.json": ("input_speech", '{\n  "from": "442079460000",\n  "to": "447700900000",\n  ' + leg +
                                  '  "speech": {\n    "results": [\n      {\n        "text": "hello world",\n'
                                  '        "confidence": ".91"\n      }\n    ],\n    "error": "foo",\n'
                                  '    "timeout_reason": "bar"\n  },\n  "timed_out": "true",\n'
                                  '  "timestamp": "2020-01-01T12:00:00.000Z"\n}'),
    }
    for fixture, (name, text) in inputs.items():
        vec("vonage", f"voice_event_{name}", f"{dotnet.format(fixture)}@8cad0859af710634ac70c2a5cd2f03c7b11903b9 "
            "(the fixture's text, its BOM dropped): an input action's event, the caller's input: other "
            "(provider_event_type input), the leg named, no call status", "vonage", text, h(text), creds)
    for fixture, body in voice.items():
        name = fixture.removesuffix(".json").lower()
        vec("vonage", f"voice_event_{name}", f"{dotnet.format(fixture)}@{commits[fixture]}: a Voice API event, the fixture's text "
            "signed here (HS256 JWT with its payload_hash): a call event keyed by the leg and its status, "
            "never a message status", "vonage", body, h(body), creds)
    # developer.vonage.com/voice/voice-api/guides/numbers: "If you set it to any other value then
    # `from` is set to `unknown`" (a caller whose number is withheld or not a number).
    unknown_caller = dict(json.loads(voice["Answered.json"]),
                          **{"from": "unknown", "direction": "inbound"})
    unknown_caller.pop("sub_state", None)
    body = dumps(unknown_caller)
    vec("vonage", "voice_event_from_unknown_caller", "developer.vonage.com/voice/voice-api/guides/numbers (a "
        "caller that is no number arrives as from 'unknown'): from is null — a call's party is a phone number or "
        "null, as Twilio's Anonymous — and the text stays in raw", "vonage", body, h(body), creds)
    # A status of a failover workflow's message: vonage-dotnet-sdk@8cad0859 Vonage.Test/Messages/Webhooks/Data/
    # ShouldDeserializeStatus-response.json (every optional block: error, workflow, usage, destination, sms,
    # whatsapp), and the same status of the workflow's second message. Whether Vonage gives the fallback
    # message a uuid of its own is not documented: the item is part of the key, so the two never collide.
    workflow_status = {
        "message_uuid": "aaaaaaaa-bbbb-4ccc-8ddd-0123456789ab", "to": "447700900000", "from": "447700900001",
        "timestamp": "2025-02-03T12:14:25Z", "status": "submitted",
        "error": {"type": "https://developer.vonage.com/api-errors/messages#1000", "title": "1000",
                  "detail": "Throttled - You have exceeded the submission capacity allowed on this account. "
                            "Please wait and retry", "instance": "bf0ca0bf927b3b52e3cb03217e1a1ddf"},
        "client_ref": "abc123",
        "workflow": {"workflow_id": "3TcNjguHxr2vcCZ9Ddsnq6tw8yQUpZ9rMHv9QXSxLan5ibMxqSzLdx9",
                     "items_number": "1", "items_total": "2"},
        "usage": {"currency": "EUR", "price": "0.0333"}, "channel": "sms",
        "destination": {"network_code": "12345"}, "sms": {"count_total": "2"},
        "whatsapp": {"pricing": {"type": "regular", "pricing_model": "CBP", "category": "service"},
                     "conversation": {"id": "1234567890", "origin": {"type": "user_initiated"}}}}
    messages_fixture = ("Vonage/vonage-dotnet-sdk Vonage.Test/Messages/Webhooks/Data/ShouldDeserializeStatus-response.json"
                        "@8cad0859af710634ac70c2a5cd2f03c7b11903b9")
    body = dumps(workflow_status)
    vec("vonage", "public_status_of_a_failover_workflow_item", f"{messages_fixture}: a status with error, workflow, "
        "usage and channel blocks: sent, the error read, the workflow's item part of the key", "vonage", body, h(body),
        creds)
    second = dict(workflow_status, workflow=dict(workflow_status["workflow"], items_number="2"))
    second.pop("error")
    body = dumps(second)
    vec("vonage", "status_of_a_failover_workflow_second_item", f"The status of {messages_fixture} for the "
        "workflow's second message (items_number 2) with the same uuid and status: its own key, never a "
        "duplicate of the first message's", "vonage", body, h(body), creds)
    # An inbound WhatsApp message with every optional block (vonage-dotnet-sdk@8cad0859
    # Vonage.Test/Messages/Webhooks/Data/ShouldDeserializeWebhook-response.json, as compact JSON): the text is the
    # message's, the numbers E.164, the other blocks stay in raw.
    whatsapp_full = '{"channel":"whatsapp","message_uuid":"52afe398-e31a-4362-8c42-beb0c3b1d098","to":"447700900000","from":"447700900001","timestamp":"2020-01-01T14:00:00.000Z","profile":{"name":"Jane Smith"},"context_status":"available","context":{"message_uuid":"aaaaaaaa-bbbb-cccc-dddd-0123456789ab","message_from":"447700900000"},"provider_message":"string","client_ref":"string","message_type":"text","text":"Nexmo Verification code: 12345.<br />Valid for 10 minutes.","audio":{"url":"https://example.com/audio.mp3","name":"audio.mp3"},"video":{"url":"https://example.com/video.mp4","name":"video.mp4"},"image":{"url":"https://example.com/image.jpg","name":"image.jpg","caption":"Additional text to accompany the image."},"file":{"url":"https://example.com/file.pdf","name":"file.pdf","caption":"Additional text to accompany the file."},"sticker":{"url":"https://api-us.nexmo.com/v3/media/1b456509-974c-458b-aafa-45fc48a4d976"},"vcard":{"url":"https://example.com/contact.vcf","name":"contact.vcf"},"location":{"lat":40.34772,"long":-74.18847,"name":"Vonage","address":"23 Main St, Holmdel, NJ 07733, USA","url":"https://www.vonage.com/"},"order":{"catalog_id":"2806150799683508","product_items":[{"product_retailer_id":"pk1v7rudbg","quantity":"1","item_price":"9.99","currency":"USD"}]},"reply":{"id":"row1","title":"9am","description":"Select 9am appointment time"},"sms":{"total_count":"2","num_messages":"2","keyword":"HELLO"},"usage":{"currency":"EUR","price":"0.0333"},"origin":{"network_code":"12345"},"content":[{"type":"image","url":"https://example.com/image.jpg"}],"whatsapp":{"referral":{"body":"Check out our new product offering","headline":"New Products!","source_id":"212731241638144","source_type":"post","source_url":"https://fb.me/2ZulEu42P","media_type":"image","image_url":"https://example.com/image.jpg","video_url":"https://example.com/video.mp4","thumbnail_url":"https://example.com/thumbnail.jpg","ctwa_clid":"1234567890"},"whatsapp_referred_product":{"catalog_id":"1267260820787549","product_retailer_id":"r07qei73l7"}},"_self":{"href":"https://api-eu.vonage.com/v1/messages/aaaaaaa-bbbb-4ccc-8ddd-0123456789ab"}}'
    vec("vonage", "public_inbound_whatsapp_every_block", "Vonage/vonage-dotnet-sdk Vonage.Test/Messages/Webhooks/Data/"
        "ShouldDeserializeWebhook-response.json@8cad0859af710634ac70c2a5cd2f03c7b11903b9 (compact): an inbound WhatsApp "
        "text with every optional block (context, media, location, order, reply, sms, usage): message.received, "
        "its text, client_ref the reference", "vonage", whatsapp_full, h(whatsapp_full), creds)
    # developer.vonage.com/en/messages/concepts/multisegment-sms-handling: a status of an SMS sent in
    # two segments, each segment's status in sms.segments: one status of the message.
    segmented = {"message_uuid": "aaaaaaaa-bbbb-4ccc-8ddd-0123456789ab", "to": "447700900000", "from": "447700900001",
                 "timestamp": "2025-02-03T12:14:25Z", "status": "delivered", "channel": "sms",
                 "destination": {"network_code": "12345"},
                 "sms": {"total_count": "2", "segments": [{"timestamp": "2025-02-03T12:14:25Z", "status": "delivered"},
                                                          {"timestamp": "2025-02-03T12:14:58Z", "status": "delivered"}]}}
    body = dumps(segmented)
    vec("vonage", "doc_status_of_a_multisegment_sms", "developer.vonage.com/en/messages/concepts/multisegment-sms-"
        "handling's example callback (an SMS of two segments, each segment's status in sms.segments): one "
        "delivered status of the message", "vonage", body, h(body), creds)
    # The failover guide's flow (developer.vonage.com/en/messages/guides/failover-message: RCS submitted,
    # RCS rejected, SMS submitted, SMS delivered): the first item's rejection is no end of the message,
    # which goes on by SMS; the last item's is.
    rejected_first = dict(workflow_status, status="rejected", channel="rcs", **{"from": "Vonage"},
                          error={"type": "https://developer.vonage.com/api-errors/messages#1300", "title": "1300",
                                 "detail": "The recipient's device does not support RCS",
                                 "instance": "bf0ca0bf927b3b52e3cb03217e1a1ddf"})
    for key in ("whatsapp", "sms", "destination"):
        rejected_first.pop(key)
    body = dumps(rejected_first)
    vec("vonage", "status_of_a_failover_workflow_first_item_rejected", "The failover guide's flow "
        "(developer.vonage.com/en/messages/guides/failover-message): the RCS item (1 of 2) rejected, so Vonage "
        "sends the SMS next: the message is queued for its next channel (provider_status rejected, its error "
        "kept), not failed, so that a ledger takes the SMS's statuses", "vonage", body, h(body), creds)
    rejected_last = dict(rejected_first, channel="sms", **{"from": "447700900001"},
                         workflow=dict(workflow_status["workflow"], items_number="2"))
    body = dumps(rejected_last)
    vec("vonage", "status_of_a_failover_workflow_last_item_rejected", "The same workflow's SMS (item 2 of 2) "
        "rejected: no channel is left, the message failed (rejected)", "vonage", body, h(body), creds)
    # RCS: the business's side is its agent's id ("from": "Vonage" with "channel": "rcs" in
    # developer.vonage.com/en/messages/guides/failover-message; "Vonage-RCS-Agent" in Vonage's post
    # "Introducing Message Failover in Vonage Messages API"), no sender ID: null, as behind Twilio's rcs:.
    rcs_status = dict(status, channel="rcs", **{"from": "Vonage"})
    body = dumps(rcs_status)
    vec("vonage", "rcs_status_from_an_agent", "An RCS status sent from the agent 'Vonage' "
        "(developer.vonage.com/en/messages/guides/failover-message's RCS message): from is null (an agent's id, no "
        "address), to the user's number", "vonage", body, h(body), creds)
    rcs_inbound = dict(inbound, channel="rcs", to="Vonage-RCS-Agent", message_type="text", text="Hi agent")
    rcs_inbound.pop("sms")
    body = dumps(rcs_inbound)
    vec("vonage", "rcs_inbound_to_an_agent", "An inbound RCS text to the agent 'Vonage-RCS-Agent' (Vonage's post "
        "'Introducing Message Failover in Vonage Messages API'): to is null, from the user's number",
        "vonage", body, h(body), creds)
    body = dumps(status)
    vec("vonage", "rotated_secret", "Signed with the previous signature secret while both are configured",
        "vonage", body, h(body, VONAGE_OLD_SECRET), {"jwt_hs256": [VONAGE_SECRET, VONAGE_OLD_SECRET]})
    vec("vonage", "detected_by_body", "No provider named: message_uuid + channel identify Vonage", None, body,
        h(body), {"vonage": creds})
    vec("vonage", "signature_secret_alias", "The secret configured as signature_secret (Vonage's name for it), "
        "another name of jwt_hs256", "vonage", body, h(body), {"signature_secret": VONAGE_SECRET})
    odd = dumps(dict(status, status=4, timestamp="soon"))
    vec("vonage", "shape_status_and_timestamp_unreadable", "A status of the wrong type and an unreadable time: "
        "verified, so still an event (a status event, by the key), unread fields listed", "vonage", odd, h(odd), creds)
    # Refusals.
    bad = '{"message_uuid": "aaaaaaaa", "status": '
    vec("vonage", "err_malformed_json", "Correctly signed, truncated JSON", "vonage", bad, h(bad), creds,
        "malformed_json")
    vec("vonage", "err_wrong_secret", "A JWT signed with another secret", "vonage", body,
        h(body, "not-the-secret"), creds, "signature_mismatch")
    other = dumps(dict(status, status="read"))
    vec("vonage", "err_payload_hash_of_another_body", "A valid JWT captured from one delivery, replayed with "
        "another body: payload_hash must match (the SDKs skip this check)", "vonage", other, h(body), creds,
        "jwt_payload_mismatch")
    vec("vonage", "err_no_payload_hash", "A valid JWT without payload_hash covers no body", "vonage", body,
        {"Authorization": "Bearer " + jwt(VONAGE_SECRET, {"iat": NOW, "iss": "Vonage"})}, creds,
        "jwt_payload_mismatch")
    vec("vonage", "err_iat_older_than_the_dedupe_window", "An iat older than the dedupe window (2 x the "
        "24 h retry horizon): a replay telhook could no longer catch", "vonage", body,
        h(body, iat=NOW - 200_000), creds, "jwt_expired")
    vec("vonage", "err_iat_in_the_future", "An iat more than five minutes ahead", "vonage", body,
        h(body, iat=NOW + 600), creds, "jwt_not_yet_valid")
    vec("vonage", "err_alg_none", "alg none is refused", "vonage", body,
        {"Authorization": "Bearer " + b64url(b'{"alg":"none","typ":"JWT"}') + "." +
         b64url(json.dumps(claims(body)).encode()) + "."}, creds, "jwt_algorithm_not_allowed")
    vec("vonage", "err_alg_rs256", "RS256 is refused (vonage-node-sdk accepts it: algorithm confusion)",
        "vonage", body, h(body, header={"alg": "RS256", "typ": "JWT"}), creds, "jwt_algorithm_not_allowed")
    vec("vonage", "err_no_authorization", "An unsigned callback (Vonage sends some on internal errors)",
        "vonage", body, {"Content-Type": "application/json"}, creds, "missing_authorization")
    vec("vonage", "err_basic_instead_of_bearer", "Another scheme than Bearer", "vonage", body,
        {"Authorization": basic("a1b2c3d", VONAGE_SECRET)}, creds, "invalid_authorization_format")
    vec("vonage", "err_missing_credentials", "No signature secret configured", "vonage", body, h(body), None,
        "missing_credentials")
    # The SDKs' own test tokens: their signatures verify, but they cover no body we send.
    sdk = json.load(open(os.path.join(os.path.dirname(HERE), "fixtures", "sdk", "vonage.json"), encoding="utf-8"))
    for index, name in ((40, "ruby_docs_sample_token"), (41, "ruby_docs_sample_token_wrong_secret"),
                        (42, "python_sdk_token"), (43, "python_sdk_token_wrong_secret"),
                        (44, "python_sdk_malformed_token"), (45, "java_sdk_token"),
                        (46, "java_sdk_token_foreign_signature")):
        case = sdk[index]
        payload = json.loads(base64.urlsafe_b64decode(case["jwt"].split(".")[1] + "==")) \
            if case["jwt"].count(".") == 2 else {}
        now = payload.get("iat", NOW) + 10
        error = "jwt_payload_mismatch" if case["expect_valid"] else (
            "jwt_malformed" if case["jwt"].count(".") != 2 else "signature_mismatch")
        vec("vonage", f"sdk_{name}", f"{case['source']} ({SDK} #{index}): {case['what']} - "
            f"the SDK {'accepts' if case['expect_valid'] else 'refuses'} it; telhook "
            f"{'also checks payload_hash, which no SDK does: it covers no body we send' if case['expect_valid'] else 'refuses it too'}",
            "vonage", body, case["headers"], {"jwt_hs256": case["secret"]}, error, now=now)


# ----------------------------------------------------------------------------- Telnyx
TELNYX_SDK = "tests/fixtures/sdk/telnyx.json"


def telnyx():
    """Ed25519 over '<telnyx-timestamp>|<raw body>', public keys only, +-300 s both ways."""
    def pub(seed):
        return base64.b64encode(ed25519_public(seed)).decode()

    # RFC 8032 section 7.1 TEST 1 and TEST 2: the signer reproduces the RFC's own signatures.
    assert ed25519_sign(TELNYX_SEED, b"").hex().startswith("e5564300c360ac72")
    assert ed25519_sign(TELNYX_OLD_SEED, b"\x72").hex().startswith("92a009a9f0d4cab8")
    creds = {"ed25519_public_key": pub(TELNYX_SEED)}

    def h(body, seed=TELNYX_SEED, at=NOW, timestamp=None):
        timestamp = str(at) if timestamp is None else timestamp
        signature = base64.b64encode(ed25519_sign(seed, f"{timestamp}|{body}")).decode()
        return {"Content-Type": "application/json", "telnyx-signature-ed25519": signature,
                "telnyx-timestamp": timestamp}

    def envelope(event_type, event_id, occurred_at, payload, attempt=1):
        return {"data": {"event_type": event_type, "id": event_id, "occurred_at": occurred_at,
                         "payload": payload, "record_type": "event"},
                "meta": {"attempt": attempt, "delivered_to": "https://example.com/hooks/telnyx"}}

    sdk = json.load(open(os.path.join(os.path.dirname(HERE), "fixtures", "sdk", "telnyx.json"), encoding="utf-8"))
    # Documented payloads (the docs' examples and the SDKs' fixtures), signed.
    docs = ((25, "doc_message_received", "the docs' inbound message event: an SMS as message.received; "
             "the example's occurred_at is the schema placeholder 'date-time', listed as unread"),
            (26, "doc_delivery_update_unwrapped", "the docs' delivery update (message.sent, recipient queued), "
             "as the fixture recorded it, without the data wrapper (the page shows data and meta now): "
             "read all the same"),
            (23, "sdk_node_call_ai_gather_ended", "a Call Control event (call.ai_gather.ended): the caller's input, "
             "other (as Vonage's input action's events), the call named without a status"),
            (22, "sdk_python_conference_floor_changed_unwrapped", "conference.floor.changed without the data "
             "wrapper: a verified event of a kind telhook does not map, so type other with its id"),
            (24, "sdk_node_legacy_v1_call_initiated", "API v1 naming (call_initiated, created_at): read as "
             "call.initiated, an incoming call"))
    for index, name, what in docs:
        case = sdk[index]
        body = case["body"]
        vec("telnyx", name, f"{case['source']} ({TELNYX_SDK} #{index}): {what}. Signed with the RFC 8032 "
            "TEST 1 key", "telnyx", body, h(body), creds)

    # TeXML: Twilio-style PascalCase form fields, signed like every Telnyx webhook
    # (team-telnyx/telnyx-php issue #96: the signature verifies, the body is no JSON).
    def form_signed(params):
        body = urlencode(params)
        return body, dict(h(body), **{"Content-Type": FORM})

    sid = "v3:9X2vxPDFY2RHSJ1EdMS0RHRksMTg7ldNxdjWbVr9zBjbGjGsSe-aiQ"
    answered = [("AccountSid", "f5586561-8ff0-4291-a51b-c7dfe4139ff9"), ("CallInitiatedAt", "2024-01-15T10:30:26.028Z"),
                ("CallSid", sid), ("CallSidLegacy", sid), ("CallStatus", "in-progress"),
                ("CallbackSource", "call-progress-events"), ("ConnectionId", "1234567890"), ("From", "+35319605860"),
                ("SequenceNumber", "2"), ("Timestamp", "2024-01-15T10:30:00Z"), ("To", "+13129457420")]
    body, headers = form_signed(answered)
    vec("telnyx", "texml_call_answered_form", "developers.telnyx.com/api-reference/callbacks/texml-call-answered "
        "(the example's required fields), as TeXML sends it: application/x-www-form-urlencoded, signed with "
        "the RFC 8032 TEST 1 key: a call status keyed by the call, its status and SequenceNumber", "telnyx",
        body, headers, creds)
    completed = [("AccountSid", "f5586561-8ff0-4291-a51b-c7dfe4139ff9"), ("CallDuration", "45"), ("CallSid", sid),
                 ("CallSidLegacy", sid), ("CallStatus", "completed"), ("CallbackSource", "call-progress-events"),
                 ("From", "+35319605860"), ("HangupSource", "caller"), ("SequenceNumber", "3"),
                 ("Timestamp", "Mon, 15 Jan 2024 10:30:45 +0000"), ("To", "+13129457420")]
    body, headers = form_signed(completed)
    vec("telnyx", "texml_hangup_status_rfc2822", "developers.telnyx.com/docs/voice/programmable-voice/texml-verbs/"
        "hangup (its status callback's attributes; Timestamp 'given as UTC in RFC 2822 format'): call.completed "
        "with its duration", "telnyx", body, headers, creds)
    gather = [("AccountSid", "f5586561-8ff0-4291-a51b-c7dfe4139ff9"), ("CallSid", sid), ("CallStatus", "in-progress"),
              ("Digits", "1"), ("From", "+35319605860"), ("To", "+13129457420")]
    body, headers = form_signed(gather)
    vec("telnyx", "texml_gather_action", "A TeXML <Gather> action request (no CallbackSource; the fields of "
        "developers.telnyx.com/api-reference/callbacks/texml-gather's TexmlGatherWebhook example, which has no "
        "time and no sequence number): keyed by what Telnyx signed, its telnyx-timestamp and its body, since a "
        "call's requests share its status", "telnyx", body, headers, creds)
    # The caller presses 1 again at a second menu of the same call: the same body, signed 20 s later.
    # Keyed by the body alone it was answered duplicate (a review with the docs' example).
    again = dict(h(body, at=NOW + 20), **{"Content-Type": FORM})
    vec("telnyx", "texml_gather_same_input_again", "The same <Gather> input at a second menu of the call (the "
        "TexmlGatherWebhook example's fields, the same body signed 20 s later): its own event, a key other than "
        "texml_gather_action's, never a duplicate of it", "telnyx", body, again, creds, now=NOW + 20)
    # developers.telnyx.com/api-reference/callbacks/texml-recording-completed (TexmlRecordingCompletedWebhook's
    # example fields): a recording's callback, keyed by its RecordingSid and status, so a redelivery Telnyx
    # signs anew (its telnyx-timestamp is when it was sent) is the same event (a review: keyed by what was
    # signed, the retry ran again).
    recording = [("AccountSid", "cb6cfbbc-eb00-41af-a3f3-0d7b32009e4b"),
                 ("CallSid", "v2:qiaymU9Ij90xJRRkYGWHOIx_41EVJPrzlny2zC67hwL1wVIUnnMrqQ"),
                 ("CallSidLegacy", "v2:qiaymU9Ij90xJRRkYGWHOIx_41EVJPrzlny2zC67hwL1wVIUnnMrqQ"), ("ConnectionId", "1234567890"),
                 ("RecordingChannels", "1"), ("RecordingDuration", "5"), ("RecordingSid", "35094891-3290-4142-b2c2-b2eda57534cf"),
                 ("RecordingSource", "DialVerb"), ("RecordingStatus", "completed"),
                 ("RecordingUrl", "https://recording.com/your-recording-url")]
    body, headers = form_signed(recording)
    vec("telnyx", "texml_recording_completed", "developers.telnyx.com/api-reference/callbacks/texml-recording-completed "
        "(the TexmlRecordingCompletedWebhook example's fields): a recording's callback, other (recording), keyed by "
        "its RecordingSid and RecordingStatus", "telnyx", body, headers, creds)
    vec("telnyx", "texml_recording_completed_redelivered", "The same recording callback redelivered 30 s later, "
        "signed anew: the same event (its key is the recording's, not what was signed)", "telnyx", body,
        dict(h(body, at=NOW + 30), **{"Content-Type": FORM}), creds, now=NOW + 30)
    after_hangup = [("AccountSid", "f5586561-8ff0-4291-a51b-c7dfe4139ff9"), ("CallSid", sid), ("CallStatus", "completed"),
                    ("From", "+35319605860"), ("RecordingUrl", "https://api.telnyx.com/v2/recordings/1.mp3"),
                    ("To", "+13129457420")]
    body, headers = form_signed(after_hangup)
    vec("telnyx", "texml_request_after_hangup_completed", "A TeXML request of a call made after its hang-up "
        "(CallStatus completed, no CallbackSource: a <Record> action's, whose fields TeXML copies from Twilio's): "
        "call.status (keyed by its body), never a second call.completed beside the status callback's", "telnyx",
        body, headers, creds)
    # RCS (developers.telnyx.com/docs/messaging/messages/receiving-rcs-webhooks): text in payload.body.text,
    # read receipts as message.read.
    rcs = {"record_type": "message", "direction": "outbound", "id": "4031938e-60e5-4f4d-a8b1-8e2b2d7ea9b2",
           "type": "RCS", "from": {"agent_id": "e4448a5c0670c2a9", "agent_name": "My RCS Agent"},
           "to": [{"phone_number": "+13125550100", "status": "delivered"}], "body": {"text": "Hello there!"}}
    body = dumps(envelope("message.finalized", "b1f5c3a2-6d4e-4f1a-9c2b-3d4e5f6a7b01", "2026-01-21T12:50:06.000Z", rcs))
    vec("telnyx", "rcs_message_finalized_body_text", "The RCS docs' message.finalized: delivered, its text read "
        "from payload.body.text, the agent sender (no number) left null", "telnyx", body, h(body), creds)
    read = dict(rcs, to=[{"phone_number": "+13125550100", "status": "read"}])
    body = dumps(envelope("message.read", "b1f5c3a2-6d4e-4f1a-9c2b-3d4e5f6a7b02", "2026-01-21T12:51:00.000Z", read))
    vec("telnyx", "rcs_message_read", "An RCS read receipt (message.read, listed by the RCS docs as an outbound "
        "status event): message.status read, its own event id", "telnyx", body, h(body), creds)
    inbound_rcs = {"record_type": "message", "direction": "inbound", "id": "4031938e-60e5-4f4d-a8b1-8e2b2d7ea9b3",
                   "type": "RCS", "from": {"phone_number": "+13125550100"},
                   "to": [{"agent_id": "e4448a5c0670c2a9", "agent_name": "My RCS Agent"}], "body": {"text": "Hi!"}}
    body = dumps(envelope("message.received", "b1f5c3a2-6d4e-4f1a-9c2b-3d4e5f6a7b03", "2026-01-21T12:52:00.000Z",
                          inbound_rcs))
    vec("telnyx", "rcs_message_received_body_text", "An inbound RCS message: its text from payload.body.text",
        "telnyx", body, h(body), creds)

    # Messaging: one message's statuses, per recipient (payload.to[].status).
    message_id = "40385f64-5717-4562-b3fc-2c963f66afa6"

    def outbound(recipients, errors=(), sent_at="2026-01-21T12:50:01.100Z", completed_at=None):
        return {"record_type": "message", "direction": "outbound", "id": message_id, "type": "SMS",
                "messaging_profile_id": "4000eba1-a0c0-4563-9925-b25e842a7cb6",
                "from": {"phone_number": "+18445550001", "carrier": "TELNYX LLC", "line_type": "VoIP"},
                "to": [{"phone_number": number, "status": status, "carrier": "T-MOBILE USA, INC.",
                        "line_type": "Wireless"} for number, status in recipients],
                "cc": [], "text": "Your code is 123456", "media": [], "encoding": "GSM-7", "parts": 1,
                "tags": [], "errors": list(errors), "cost": {"amount": "0.0051", "currency": "USD"},
                "received_at": "2026-01-21T12:50:00.574Z", "sent_at": sent_at,
                "completed_at": completed_at, "valid_until": None}

    statuses = (("message.sent", "sent", "c1d4a8f2-0d0e-4f55-9a2b-1b2f3c4d5e01", "2026-01-21T12:50:01.200Z"),
                ("message.finalized", "delivered", "c1d4a8f2-0d0e-4f55-9a2b-1b2f3c4d5e02", "2026-01-21T12:50:06.000Z"),
                ("message.finalized", "delivery_unconfirmed", "c1d4a8f2-0d0e-4f55-9a2b-1b2f3c4d5e03", "2026-01-21T12:50:06.000Z"),
                ("message.finalized", "sending_failed", "c1d4a8f2-0d0e-4f55-9a2b-1b2f3c4d5e04", "2026-01-21T12:50:06.000Z"))
    for event_type, status, event_id, at in statuses:
        errors = [{"code": "40008", "title": "Undeliverable", "detail": "The message could not be delivered "
                   "to the handset"}] if status == "sending_failed" else []
        body = dumps(envelope(event_type, event_id, at, outbound([("+18665550001", status)], errors)))
        vec("telnyx", f"{event_type.replace('.', '_')}_{status}", f"{event_type} with the recipient's status "
            f"'{status}' (payload.to[].status), signed as Telnyx signs", "telnyx", body, h(body), creds)
    group = envelope("message.finalized", "c1d4a8f2-0d0e-4f55-9a2b-1b2f3c4d5e05", "2026-01-21T12:50:09.000Z",
                     outbound([("+18665550001", "delivered"), ("+18665550002", "delivery_failed"),
                               ("+18665550003", "delivered")]))
    group["data"]["payload"]["type"] = "MMS"
    body = dumps(group)
    vec("telnyx", "message_finalized_group_mms_least_advanced_recipient", "A group MMS finalized for three "
        "recipients, one failed: the event's status is the least advanced recipient's (failed), to the first "
        "recipient; raw keeps every recipient's status", "telnyx", body, h(body), creds)
    body = dumps(envelope("message.finalized", "c1d4a8f2-0d0e-4f55-9a2b-1b2f3c4d5e06", "2026-01-21T12:50:09.000Z",
                          outbound([("+18665550001", "delivered"), ("+18665550002", "sending")])))
    vec("telnyx", "message_finalized_one_recipient_still_sending", "Two recipients, one still sending: not final "
        "yet for the message (queued)", "telnyx", body, h(body), creds)
    redelivered = envelope("message.finalized", "c1d4a8f2-0d0e-4f55-9a2b-1b2f3c4d5e02", "2026-01-21T12:50:06.000Z",
                           outbound([("+18665550001", "delivered")]), attempt=3)
    body = dumps(redelivered)
    vec("telnyx", "redelivery_meta_attempt_same_id", "The third attempt of the delivered event (meta.attempt 3): "
        "the same id as the first, so it dedupes; raw keeps the attempt", "telnyx", body, h(body), creds)
    inbound = envelope("message.received", "d2e5b9a3-1e1f-4a66-8b3c-2c3d4e5f6a01", "2026-01-21T12:51:00.000Z",
                       {"record_type": "message", "direction": "inbound", "id": "7ee4241c-f127-47e5-9c34-3aac291f8058",
                        "type": "SMS", "from": {"phone_number": "+18665550001", "carrier": "T-MOBILE USA, INC.",
                                                 "line_type": "Wireless"},
                        "to": [{"phone_number": "+18445550001", "status": "webhook_delivered",
                                "carrier": "TELNYX LLC", "line_type": "VoIP"}],
                        "text": "STOP", "media": [], "encoding": "GSM-7", "parts": 1, "errors": [],
                        "received_at": "2026-01-21T12:51:00.000Z"})
    body = dumps(inbound)
    vec("telnyx", "message_received_sms", "An inbound SMS (message.received): from, to and text; no delivery "
        "status", "telnyx", body, h(body), creds)
    media_only = json.loads(dumps(inbound))
    media_only["data"]["id"] = "d2e5b9a3-1e1f-4a66-8b3c-2c3d4e5f6a09"
    media_only["data"]["payload"].update({"type": "MMS", "text": "", "media": [
        {"url": "https://media.telnyx.com/7ee4241c/photo.jpg", "content_type": "image/jpeg", "size": 48213,
         "hash_sha256": "5f2b0b0f6a1e8d9c"}]})
    body = dumps(media_only)
    vec("telnyx", "message_received_mms_without_text", "An inbound MMS of a picture alone (the docs' media "
        "objects: url, content_type, size, hash_sha256) with text '': no text (null, as every provider's "
        "empty text), the media in raw", "telnyx", body, h(body), creds)
    long_text = ("Concatenated SMS, ten parts of 153 GSM-7 characters each: " * 30)[:1530]
    inbound["data"]["payload"].update({"text": long_text, "parts": 10})
    inbound["data"]["id"] = "d2e5b9a3-1e1f-4a66-8b3c-2c3d4e5f6a02"
    body = dumps(inbound)
    vec("telnyx", "message_received_long_text", "An inbound concatenated SMS of 1,530 characters: its text "
        "is nested in raw (data.payload.text), where Node finds the one copy it keeps", "telnyx", body, h(body), creds)

    # Call Control.
    def call(event_type, event_id, at, state, direction="incoming", **extra):
        payload = dict({"call_control_id": "v3:MdI91X4lWFEs7IgbBEOT9M4AigoY08M0WWZFISt1Yw2axZ_IiE4pqg",
                        "call_leg_id": "428c31b6-7af4-4bcb-b7f5-5013ef9657c1",
                        "call_session_id": "428c31b6-abf3-3bc1-b7f4-5013ef9657c1",
                        "connection_id": "1494404757140276705", "client_state": None,
                        "from": "+18665550001", "to": "+18445550001", "direction": direction,
                        "state": state}, **extra)
        return dumps(envelope(event_type, event_id, at, payload))
    for event_type, state, event_id, extra in (
            ("call.initiated", "parked", "e3f6c0b4-2f20-4b77-9c4d-3d4e5f6a7b01", {}),
            ("call.answered", "answered", "e3f6c0b4-2f20-4b77-9c4d-3d4e5f6a7b02", {}),
            ("call.hangup", "hangup", "e3f6c0b4-2f20-4b77-9c4d-3d4e5f6a7b03",
             {"hangup_cause": "normal_clearing", "hangup_source": "caller", "sip_hangup_cause": "200",
              "start_time": "2026-01-21T12:40:00.000Z", "end_time": "2026-01-21T12:42:05.000Z"})):
        body = call(event_type, event_id, "2026-01-21T12:42:05.000Z", state, **extra)
        vec("telnyx", event_type.replace(".", "_"), f"Call Control {event_type} of an incoming call",
            "telnyx", body, h(body), creds)
    body = call("call.hangup", "e3f6c0b4-2f20-4b77-9c4d-3d4e5f6a7b04", "2026-01-21T12:43:00.000Z", "hangup",
                hangup_cause="originator_cancel", hangup_source="caller", sip_hangup_cause="487",
                start_time="2026-01-21T12:42:40.000Z", end_time="2026-01-21T12:43:00.000Z")
    vec("telnyx", "call_hangup_unanswered_is_missed", "An incoming call the caller gave up on before it was "
        "answered (hangup_cause originator_cancel): a missed call", "telnyx", body, h(body), creds)
    # The docs' call.hangup example (developers.telnyx.com/api-reference/callbacks/call-hangup) has no
    # direction, as a logged real delivery has it too (only call.initiated carries one).
    docs_hangup = {"data": {"record_type": "event", "event_type": "call.hangup", "id": "0ccc7b54-4df3-4bca-a65a-3da1ecc777f0",
                            "occurred_at": "2018-02-02T22:25:27.521992Z",
                            "payload": {"call_control_id": "v3:MdI91X4lWFEs7IgbBEOT9M4AigoY08M0WWZFISt1Yw2axZ_IiE4pqg",
                                        "connection_id": "7267xxxxxxxxxxxxxx",
                                        "call_leg_id": "428c31b6-7af4-4bcb-b7f5-5013ef9657c1",
                                        "call_session_id": "428c31b6-7af4-4bcb-b7f5-5013ef9657c1",
                                        "client_state": "aGF2ZSBhIG5pY2UgZGF5ID1d", "from": "+35319605860",
                                        "to": "+35319605860", "start_time": "2018-02-02T22:20:27.521992Z",
                                        "state": "hangup", "hangup_cause": "originator_cancel",
                                        "hangup_source": "caller", "sip_hangup_cause": "487"}}}
    body = dumps(docs_hangup)
    vec("telnyx", "doc_call_hangup_unanswered_without_direction", "developers.telnyx.com/api-reference/callbacks/"
        "call-hangup's example (hangup_cause originator_cancel; like a logged real delivery, no direction): "
        "not answered and not known to be incoming, so a call status, not a completed call", "telnyx", body,
        h(body, at=1517610327), creds, now=1517610327)
    body = call("call.initiated", "e3f6c0b4-2f20-4b77-9c4d-3d4e5f6a7b05", "2026-01-21T12:44:00.000Z", "bridging",
                direction="outgoing")
    vec("telnyx", "call_initiated_outgoing", "An outgoing call initiated (Dial): a call status, not an incoming "
        "call", "telnyx", body, h(body), creds)
    # A withheld caller: Telnyx documents no value for it; a review assumed "anonymous" (what SIP
    # sends for a withheld identity, RFC 3323). A call's party is a phone number or null, as
    # Twilio's Anonymous is: never a sender ID, which is a message's.
    body = call("call.initiated", "e3f6c0b4-2f20-4b77-9c4d-3d4e5f6a7b06", "2026-01-21T12:45:00.000Z", "parked",
                **{"from": "anonymous"})
    vec("telnyx", "call_initiated_from_withheld_caller", "An incoming call from a withheld number (from "
        "'anonymous', the SIP form, RFC 3323; Telnyx documents none): from is null (a call's party is a phone "
        "number or null, as Twilio's Anonymous), the text stays in raw", "telnyx", body, h(body), creds)

    # Telnyx documents `from` and `to` as "Number or SIP URI" (its SDKs' CallInitiatedPayload, e.g.
    # team-telnyx/telnyx-java docs/CallInitiatedPayload.md). A connection can take SIP URI calls from
    # anyone (sip_uri_calling_preference: unrestricted): the URI's user part is what the caller wrote,
    # a number nobody vouched for (a review), so neither a number in it nor a SIP user or extension
    # is reported as the caller's.
    body = call("call.initiated", "e3f6c0b4-2f20-4b77-9c4d-3d4e5f6a7b07", "2026-01-21T12:46:00.000Z", "parked",
                **{"from": "sip:+13125550100@sip.example.net;transport=udp"})
    vec("telnyx", "call_initiated_from_sip_uri_is_no_number", "An incoming call whose from is a SIP URI with a "
        "number as its user part (team-telnyx/telnyx-java docs/CallInitiatedPayload.md: 'Number or SIP URI "
        "placing the call'; a connection may take SIP URI calls from anyone): from is null, the URI stays in raw",
        "telnyx", body, h(body), creds)
    body = call("call.initiated", "e3f6c0b4-2f20-4b77-9c4d-3d4e5f6a7b08", "2026-01-21T12:47:00.000Z", "parked",
                **{"from": "sip:1001@pbx.example.com"})
    vec("telnyx", "call_initiated_from_sip_extension", "An incoming call from a SIP extension (from "
        "sip:1001@pbx..., 'Number or SIP URI placing the call'): no phone number, from is null, the URI stays in "
        "raw", "telnyx", body, h(body), creds)

    # A recording's event (its fields as telnyx-python@6d68c8ca types CallRecordingSavedWebhookEvent and
    # developers.telnyx.com/api-reference/callbacks/call-recording-saved describe them): no change of the
    # call, other, as Twilio's and Vonage's recording callbacks.
    recording = envelope("call.recording.saved", "0c1d2e3f-aaaa-4bbb-8ccc-000000000006", "2026-01-21T12:48:00.000000Z", {
        "call_control_id": "v3:MdI91X4lWFEs7IgbBEOT9M4AigoY08M0WWZFISt1Yw2axZ_IiE4pqg",
        "call_leg_id": "428c31b6-7af4-4bcb-b7f5-5013ef9657c1", "call_session_id": "428c31b6-abf3-3bc1-b7f4-5013ef9657c1",
        "channels": "single", "client_state": None, "connection_id": "1494404757140276705",
        "public_recording_urls": {"mp3": "https://s3.amazonaws.com/recordings/x.mp3"},
        "recording_started_at": "2026-01-21T12:46:05.000000Z", "recording_ended_at": "2026-01-21T12:47:59.000000Z",
        "recording_urls": {"mp3": "https://s3.amazonaws.com/recordings/x.mp3?X-Amz-Expires=600"}})
    body = dumps(recording)
    vec("telnyx", "call_recording_saved", "call.recording.saved (telnyx-python@6d68c8ca's CallRecordingSaved "
        "event, the docs' fields): other, the call named without a status, as Twilio's and Vonage's recording "
        "callbacks", "telnyx", body, h(body), creds)
    fax = envelope("fax.received", "0c1d2e3f-aaaa-4bbb-8ccc-000000000008", "2026-01-21T12:49:00.000000Z", {
        "call_duration_secs": 35, "connection_id": "1494404757140276705", "direction": "inbound",
        "fax_id": "b679a4b1-7a2c-4d5e-9b7d-000000000001", "from": "+13125550199",
        "media_url": "https://s3.amazonaws.com/faxes/fax.pdf", "page_count": 2, "partial_content": False,
        "status": "received", "to": "+13125550100", "user_id": "19a75756-0000-0000-0000-000000000000"})
    body = dumps(fax)
    vec("telnyx", "fax_received", "fax.received (developers.telnyx.com's fax webhook fields): other, from and to "
        "the numbers it went between", "telnyx", body, h(body), creds)

    # Keys, detection, the clock.
    body = dumps(envelope("message.finalized", "c1d4a8f2-0d0e-4f55-9a2b-1b2f3c4d5e02", "2026-01-21T12:50:06.000Z",
                          outbound([("+18665550001", "delivered")])))
    vec("telnyx", "rotated_key", "Signed with the previous key while both public keys are configured",
        "telnyx", body, h(body, TELNYX_OLD_SEED), {"ed25519_public_key": [pub(TELNYX_SEED), pub(TELNYX_OLD_SEED)]})
    vec("telnyx", "detected_by_headers", "No provider named: telnyx-signature-ed25519 identifies Telnyx", None,
        body, h(body), {"telnyx": creds})
    vec("telnyx", "timestamp_300s_old_is_accepted_signed_earlier", "Signed exactly 300 s before now: accepted "
        "(the SDKs reject only |now - t| > 300)", "telnyx", body, h(body, at=NOW - 300), creds)
    vec("telnyx", "timestamp_300s_ahead_is_accepted_signed_later", "Signed exactly 300 s after now (a sender "
        "clock ahead): accepted", "telnyx", body, h(body, at=NOW + 300), creds)
    vec("telnyx", "err_timestamp_301s_old", "Signed 301 s before now: out of tolerance", "telnyx", body,
        h(body, at=NOW - 301), creds, "timestamp_out_of_tolerance")
    vec("telnyx", "err_timestamp_301s_ahead", "Signed 301 s after now: out of tolerance in the future too",
        "telnyx", body, h(body, at=NOW + 301), creds, "timestamp_out_of_tolerance")
    odd = dumps(envelope("message.finalized", "c1d4a8f2-0d0e-4f55-9a2b-1b2f3c4d5e07", 1769000000,
                         dict(outbound([]), to="+18665550001", errors={"code": 1})))
    vec("telnyx", "shape_recipients_not_a_list", "payload.to a string, errors an object, occurred_at a number of "
        "seconds: verified, so still a status event (unknown status), unread fields listed", "telnyx", odd,
        h(odd), creds)

    # Refusals: a one-byte change to any signed part.
    headers = h(body)
    changed = body.replace("delivered", "delivereD", 1)
    assert len(changed) == len(body)
    vec("telnyx", "err_one_byte_of_the_body_changed", "One byte of the signed body changed", "telnyx", changed,
        headers, creds, "signature_mismatch")
    vec("telnyx", "err_timestamp_header_changed", "The telnyx-timestamp header one second later than signed "
        "(still within tolerance): it is part of the signed message", "telnyx", body,
        dict(headers, **{"telnyx-timestamp": str(NOW + 1)}), creds, "signature_mismatch")
    signature = bytearray(base64.b64decode(headers["telnyx-signature-ed25519"]))
    signature[10] ^= 0x01
    vec("telnyx", "err_one_bit_of_the_signature_changed", "One bit of the signature flipped", "telnyx", body,
        dict(headers, **{"telnyx-signature-ed25519": base64.b64encode(bytes(signature)).decode()}), creds,
        "signature_mismatch")
    vec("telnyx", "err_wrong_key", "Signed with a key the receiver does not have (RFC 8032 TEST 3)", "telnyx",
        body, h(body, TELNYX_FORGER_SEED), creds, "signature_mismatch")
    vec("telnyx", "err_signature_of_another_timestamp_separator", "Signed over timestamp + body without the '|'",
        "telnyx", body, dict(headers, **{"telnyx-signature-ed25519": base64.b64encode(
            ed25519_sign(TELNYX_SEED, f"{NOW}{body}")).decode()}), creds, "signature_mismatch")
    bad = '{"data": {"event_type": "message.sent", "id": '
    vec("telnyx", "err_malformed_json", "Correctly signed, truncated JSON", "telnyx", bad, h(bad), creds,
        "malformed_json")
    vec("telnyx", "err_no_signature", "No telnyx-signature-ed25519 header", "telnyx", body,
        {"telnyx-timestamp": str(NOW)}, creds, "missing_signature")
    vec("telnyx", "err_empty_signature", "An empty telnyx-signature-ed25519 is a missing one (as in the SDKs)",
        "telnyx", body, dict(headers, **{"telnyx-signature-ed25519": ""}), creds, "missing_signature")
    vec("telnyx", "err_signature_wrong_length", "The base64 of 4 bytes, not 64, with a valid key", "telnyx", body,
        dict(headers, **{"telnyx-signature-ed25519": "dGVzdA=="}), creds, "invalid_signature_format")
    vec("telnyx", "err_timestamp_with_fraction", "A timestamp in fractional seconds is not whole UNIX seconds",
        "telnyx", body, h(body, timestamp=f"{NOW}.5"), creds, "invalid_signature_format")
    vec("telnyx", "err_timestamp_in_milliseconds", "A timestamp in milliseconds reads as far in the future",
        "telnyx", body, h(body, timestamp=str(NOW * 1000)), creds, "timestamp_out_of_tolerance")
    vec("telnyx", "err_missing_credentials", "No public key configured", "telnyx", body, headers, None,
        "missing_credentials")
    vec("telnyx", "err_public_key_of_31_bytes", "A configured key that is not 32 bytes is a configuration error",
        "telnyx", body, headers, {"ed25519_public_key": base64.b64encode(ed25519_public(TELNYX_SEED)[:31]).decode()},
        "invalid_credentials")
    vec("telnyx", "err_hmac_standard_webhooks_headers", "Standard Webhooks HMAC headers (what the SDKs' generated "
        "unwrap() checks, not what Telnyx sends) carry no Ed25519 signature", "telnyx", body,
        {"webhook-id": "msg_1", "webhook-timestamp": str(NOW),
         "webhook-signature": "v1," + hmac_b64("secret\n", f"msg_1.{NOW}.{body}")}, creds, "missing_signature")

    # The SDKs' own cases (tests/fixtures/sdk/telnyx.json), signatures as derived there with the
    # SDKs' published test keys. Each must verify - or fail - as in the SDKs; the error is ours.
    errors = {1: "signature_mismatch", 2: "signature_mismatch", 3: "missing_signature", 4: "missing_signature",
              5: "timestamp_out_of_tolerance", 7: "timestamp_out_of_tolerance", 9: "invalid_credentials",
              10: "invalid_signature_format", 12: "signature_mismatch", 13: "timestamp_out_of_tolerance",
              15: "timestamp_out_of_tolerance", 16: "timestamp_out_of_tolerance", 18: "signature_mismatch",
              19: "invalid_credentials", 20: "invalid_credentials"}
    names = {0: "php_valid_signature", 1: "php_zero_signature", 2: "php_tampered_payload",
             3: "php_missing_signature_header", 4: "php_missing_timestamp_header", 5: "php_expired_timestamp",
             6: "php_timestamp_120s_old_signed_earlier", 7: "php_custom_tolerance_900s_not_offered",
             8: "php_case_insensitive_headers", 9: "php_invalid_public_key", 10: "php_signature_not_base64",
             11: "php_unwrap_call_ai_gather_ended", 12: "php_signature_of_another_payload",
             13: "php_timestamp_5", 14: "php_timestamp_300s_old_signed_earlier", 15: "php_timestamp_301s_old",
             16: "php_timestamp_301s_ahead", 17: "java_valid_signature", 18: "java_zero_signature",
             19: "java_4_byte_signature_key_not_on_the_curve", 20: "java_timestamp_not_a_number",
             21: "node_valid_call_ai_gather_ended"}
    notes = {7: " - telhook has no per-call tolerance option: 300 s, as every other SDK",
             19: " - the key 'AAAA...' (32 x 0x41) is no curve point: refused as a configuration error "
                 "before the signature is read", 20: " - the key is 7 bytes: a configuration error first"}
    for index, case in enumerate(sdk):
        if case["kind"] != "signature":
            continue
        assert (index in errors) != case["expect_valid"] or index == 7, index
        signing = case.get("signing")
        if signing:  # our signer reproduces the fixture's derived signature
            seed = base64.b64decode(signing["private_key_b64"])[:32]
            message = f"{signing['signed_timestamp']}|{signing['signed_body']}"
            assert base64.b64encode(ed25519_sign(seed, message)).decode() == case["expected_signature"], index
        vec("telnyx", f"sdk_{names[index]}", f"{case['source']} ({TELNYX_SDK} #{index}): {case['what']}. "
            f"{case['notes'].strip()}".strip() + notes.get(index, ""), "telnyx", case["body"], case["headers"],
            {"ed25519_public_key": case["public_key"]}, errors.get(index), now=case["now"])
# ----------------------------------------------------------------------------- Vonage SMS API
SMS_URL = "https://hooks.example.com/vonage/sms"
COURIER = "nyaruka/courier handlers/nexmo/handler_test.go@350e935007fd7e7cab689feee5ce97e326d49099"
PHP_SMS = "Vonage/vonage-php-sdk-core test/SMS/requests/{}@9c6bc46e70451d2dc6c8243ba04dc34121878199"
# RETRY's dedupe window (core/src/providers/vonage.rs): 2 x (the delays + 8 deliveries x 5 s).
VONAGE_DEDUPE_WINDOW = 2 * (60 + 120 + 360 + 1440 + 7200 + 43200 + 43200 + 8 * 5)


def vonage_sms():
    """SMS API signed webhooks: `sig` over the sorted parameters, as GET query, form or JSON."""
    creds = {"jwt_hs256": VONAGE_SECRET}
    sdk = json.load(open(os.path.join(os.path.dirname(HERE), "fixtures", "sdk", "vonage.json"), encoding="utf-8"))

    def signed(params, method="sha256", secret=VONAGE_SECRET, timestamp=NOW - 5, nonce=True):
        params = list(params)
        if timestamp is not None:
            params.append(("timestamp", str(timestamp)))
        if nonce:
            params.append(("nonce", "6c3bf3a4-2b5e-4f1c-9d7a-0e1f2a3b4c5d"))
        return params + [("sig", vonage_sig(secret, params, method))]

    def send(name, description, params, transport="get", expect_error=None, provider="vonage",
             credentials=None, now=NOW, json_body=None):
        credentials = creds if credentials is None else credentials
        if transport == "get":
            vec("vonage", name, description, provider, "", {}, credentials, expect_error,
                url=SMS_URL + "?" + urlencode(params), method="GET", now=now)
        elif transport == "form":
            vec("vonage", name, description, provider, urlencode(params), {"Content-Type": FORM},
                credentials, expect_error, url=SMS_URL, now=now)
        else:
            body = json_body if json_body is not None else dumps(dict(params))
            vec("vonage", name, description, provider, body, {"Content-Type": "application/json"},
                credentials, expect_error, url=SMS_URL, now=now)

    # The delivery receipt of vonage-php-sdk-core's dlr-get.txt (its fields; the values are the
    # fixture's), signed here: every status of the SMS API's vocabulary.
    dlr = [("msisdn", "14845552121"), ("to", "16105553939"), ("network-code", "310004"),
           ("messageId", "14000000F9DBBBBB"), ("price", "0.00845000"), ("status", "delivered"),
           ("scts", "2001011400"), ("err-code", "0"), ("api-key", "a1234567"), ("client-ref", "my-ref"),
           ("message-timestamp", "2026-01-21 12:53:15")]

    def with_(pairs, **changes):
        changes = {k.replace("_", "-"): v for k, v in changes.items()}
        out = [(k, changes.pop(k) if k in changes else v) for k, v in pairs]
        return out + list(changes.items())

    for word, code in (("delivered", "0"), ("expired", "0"), ("failed", "6"), ("rejected", "5"),
                       ("accepted", "0"), ("buffered", "0"), ("unknown", "99")):
        send(f"sms_dlr_{word}", f"SMS API delivery receipt '{word}' (err-code {code}) by GET, the fields of "
             f"{PHP_SMS.format('dlr-get.txt')}, signed with sig (HMAC-SHA256); the statuses as "
             f"{COURIER} reads them (accepted/buffered interim; api-key and sig redacted in raw)",
             signed(with_(dlr, status=word, err_code=code)))
    # The three transports of the same receipt, each from its own php fixture.
    form_dlr = [(k, v) for k, v in dlr if k != "client-ref"]
    send("sms_dlr_form", f"{PHP_SMS.format('dlr-post.txt')}: the receipt as a POST form, signed",
         signed(form_dlr), "form")
    send("sms_dlr_json", f"{PHP_SMS.format('dlr-post-json.txt')}: the receipt as POST JSON (every value a "
         "string), sig inside the JSON object", signed(form_dlr), "json")
    spec_dlr = [(k, v) for k, v in sdk[58]["params"].items() if k not in ("timestamp", "nonce", "sig")]
    send("sms_dlr_alphanumeric_sender", f"{sdk[58]['source']} (tests/fixtures/sdk/vonage.json #58): the "
         "OpenAPI DeliveryReceipt example; its 'to' is the alphanumeric sender id AcmeInc (from, as sent)",
         signed(spec_dlr))
    send("sms_dlr_docs_timestamp_with_zone", "The delivery receipt of Vonage's SMS API reference "
         "(developer.vonage.com/api/sms, quoted in Vonage's blog 'Receive SMS Delivery Receipts With Go', "
         "2020-11-18): message-timestamp '2020-01-01 12:00:00 +0000', a zone apart and without its colon",
         signed(with_(spec_dlr, message_timestamp="2020-01-01 12:00:00 +0000")))
    # Per-part receipts of one concatenated message: two distinct events.
    for part in ("1", "2"):
        send(f"sms_dlr_concat_part_{part}", f"The receipt of part {part} of 2 of one concatenated SMS "
             "(concat-ref/-part/-total): each part's receipt is its own event, the part in the id",
             signed(dlr + [("concat", "true"), ("concat-ref", "77"), ("concat-total", "2"), ("concat-part", part)]))
    # Inbound SMS.
    inbound = [(k, v) for k, v in sdk[47]["params"].items() if k not in ("timestamp", "nonce", "sig")]
    send("sms_inbound_get", f"{PHP_SMS.format('inbound.txt')}: an inbound SMS by GET (its capture's "
         "signature has no published secret: re-signed here)", signed(inbound))
    send("sms_inbound_form", f"{PHP_SMS.format('inbound.txt')} as a POST form", signed(inbound), "form")
    send("sms_inbound_json", f"{PHP_SMS.format('inbound.txt')} as POST JSON", signed(inbound), "json")
    long = [(k, v) for k, v in sdk[48]["params"].items() if k not in ("timestamp", "nonce", "sig")]
    send("sms_inbound_concat_part", f"{PHP_SMS.format('inbound-long.txt')}: part 3 of 4 of a concatenated "
         "inbound SMS (the part in the id; api-key redacted)", signed(long))
    binary = [(k, v) for k, v in sdk[49]["params"].items() if k not in ("timestamp", "nonce", "sig")]
    send("sms_inbound_binary", f"{PHP_SMS.format('inbound-binary.txt')}: a binary SMS (type, data, udh in raw)",
         signed(binary))
    courier = [("to", "2020"), ("msisdn", "2349067554729"), ("text", "Join"), ("messageId", "external1")]
    send("sms_inbound_courier_get", f"{COURIER} 'Valid Receive': a GET to a short code (to 2020, as sent)",
         signed(courier))
    send("sms_inbound_courier_form", f"{COURIER} 'Valid Receive Post': the same as a POST form", signed(courier), "form")
    send("sms_inbound_unicode", "An inbound unicode SMS whose text carries '&', '=' and '+' (replaced by '_' "
         "in the signed string, decoded in the text)",
         signed(with_(inbound, text="Ça va? 1+1=2 & ok ☺", type="unicode")))
    # Signature methods (the dashboard's setting) and hex case.
    for method in ("md5hash", "md5", "sha1", "sha512"):
        send(f"sms_method_{method}", f"The receipt signed with the signature method {method} "
             "(the request does not name it: the digest's length does; md5hash and HMAC-MD5 are both tried)",
             signed(dlr, method))
    upper = signed(dlr)
    upper[-1] = ("sig", upper[-1][1].upper())
    send("sms_sig_upper_case_hex", "An upper-case hex sig (php and ruby send HMACs in upper case): hex is "
         "compared case-insensitively", upper)
    mixed = signed(dlr, "md5hash")
    mixed[-1] = ("sig", "".join(c.upper() if i % 2 else c for i, c in enumerate(mixed[-1][1])))
    send("sms_sig_mixed_case_hex", "A mixed-case hex md5hash sig", mixed)
    params = signed(dlr)
    vec("vonage", "sms_under_basic_authorization", "A signed receipt to a URL with Basic credentials (an "
        "Authorization the SMS API does not sign): the sig is verified", "vonage", "",
        {"Authorization": basic("hooks", "url-password-3a1f")}, creds, url=SMS_URL + "?" + urlencode(params),
        method="GET")
    send("sms_rotated_secret", "Signed with the previous signature secret while both are configured",
         signed(dlr, secret=VONAGE_OLD_SECRET), credentials={"jwt_hs256": [VONAGE_SECRET, VONAGE_OLD_SECRET]})
    for transport in ("get", "form", "json"):
        send(f"sms_detected_{transport}", f"No provider named: a {transport.upper() if transport == 'get' else 'POST ' + transport} "
             "SMS API receipt with sig and messageId/msisdn identifies Vonage", signed(dlr), transport,
             provider=None, credentials={"vonage": creds})
    send("sms_redacts_the_secret", "An inbound text that quotes the signature secret: redacted in the event and raw",
         signed(with_(inbound, text=f"my secret is {VONAGE_SECRET}")))
    shape = signed(with_(dlr, message_timestamp="soon", msisdn="not a number!"))
    send("sms_shape_unreadable_fields", "A verified receipt with an unreadable time and number: an event, the "
         "unread fields listed", shape, "json")
    odd = dumps(dict(signed(dlr)[:-1], **{"price": 0.00845, "concat-part": 2}))
    odd_params = json.loads(odd)
    odd_params["sig"] = vonage_sig(VONAGE_SECRET, {k: (str(v) if not isinstance(v, float) else repr(v))
                                                   for k, v in odd_params.items()})
    send("sms_json_numbers_signed_as_their_text", "A JSON receipt with numbers where Vonage sends strings: "
         "signed as their JSON text, verified, read", [], "json", json_body=dumps(odd_params))
    send("sms_no_messageid_is_other", "A verified body with no messageId, status or msisdn: type other, "
         "keyed by the hash of its parameters", signed([("foo", "bar")]))
    # The signed timestamp: five minutes ahead, the dedupe window back, both edges.
    send("sms_timestamp_five_minutes_ahead", "A timestamp exactly 300 s ahead of the receiver's clock is accepted",
         signed(dlr, timestamp=NOW + 300))
    send("err_sms_timestamp_301_seconds_ahead", "A timestamp 301 s ahead is refused", signed(dlr, timestamp=NOW + 301),
         expect_error="timestamp_out_of_tolerance")
    send("sms_timestamp_at_the_dedupe_window", f"A timestamp exactly the dedupe window ({VONAGE_DEDUPE_WINDOW} s) "
         "old is accepted: Vonage resends for 24 h and the docs do not say a resend is signed anew",
         signed(dlr, timestamp=NOW - VONAGE_DEDUPE_WINDOW))
    send("err_sms_timestamp_older_than_the_dedupe_window", "One second older than the dedupe window: a replay "
         "the dedupe could no longer catch", signed(dlr, timestamp=NOW - VONAGE_DEDUPE_WINDOW - 1),
         expect_error="timestamp_out_of_tolerance")
    send("err_sms_no_timestamp", "Correctly signed without timestamp: nothing bounds its replay",
         signed(dlr, timestamp=None), expect_error="missing_signature")
    bad_ts = signed(dlr + [("timestamp", "soon")], timestamp=None)
    send("err_sms_timestamp_not_unix_seconds", "A signed timestamp that is not UNIX seconds", bad_ts,
         expect_error="invalid_signature_format")
    # Refusals: a one-byte change to any signed parameter, an added or removed one.
    good = signed(dlr)
    for index, (name, value) in enumerate(good[:-1]):
        changed = value[:-1] + chr(ord(value[-1]) ^ 1)
        tampered = good[:index] + [(name, changed)] + good[index + 1:]
        send(f"err_sms_tampered_{name.replace('-', '_')}", f"A captured signed receipt with one byte of {name} "
             "changed", tampered, expect_error="signature_mismatch")
    send("err_sms_parameter_added", "A captured signed receipt with a parameter added",
         good[:-1] + [("extra", "1"), good[-1]], expect_error="signature_mismatch")
    send("err_sms_parameter_removed", "A captured signed receipt with client-ref removed",
         [p for p in good if p[0] != "client-ref"], expect_error="signature_mismatch")
    send("err_sms_parameter_repeated", "A signed receipt with a parameter repeated: which value was signed "
         "cannot be told", good[:1] + good, expect_error="invalid_signature_format")
    send("err_sms_tampered_form", "A captured signed POST form with the status changed", 
         with_(good, status="failed"), "form", expect_error="signature_mismatch")
    tampered_json = dict(good)
    tampered_json["status"] = "failed"
    send("err_sms_tampered_json", "A captured signed POST JSON receipt with the status changed", [], "json",
         json_body=dumps(tampered_json), expect_error="signature_mismatch")
    send("err_sms_wrong_secret", "Signed with another secret", signed(dlr, secret="not-the-secret"),
         expect_error="signature_mismatch")
    send("err_sms_unsigned", f"{COURIER} 'Status delivered': an unsigned receipt (courier verifies none)",
         [("to", "2020"), ("messageId", "external1"), ("status", "delivered"), ("err-code", "0")],
         expect_error="missing_signature")
    send("err_sms_unsigned_json", "An unsigned JSON receipt", dlr, "json", expect_error="missing_signature")
    short = good[:-1] + [("sig", good[-1][1][:-2])]
    send("err_sms_sig_of_no_digest_length", "A sig one byte short of any digest", short,
         expect_error="invalid_signature_format")
    send("err_sms_sig_not_hex", "A sig of the right length that is not hex", good[:-1] + [("sig", "z" * 64)],
         expect_error="invalid_signature_format")
    send("err_sms_missing_credentials", "No signature secret configured", good, expect_error="missing_credentials")
    VECTORS["vonage/err_sms_missing_credentials"]["credentials"] = None
    vec("vonage", "err_sms_put", "Vonage sends GET or POST; PUT is refused", "vonage", urlencode(good),
        {"Content-Type": FORM}, creds, "method_not_allowed", url=SMS_URL, method="PUT")
    # The official SDKs' sig cases (tests/fixtures/sdk/vonage.json #0-#39), each as the SDK tested it.
    for index, case in enumerate(sdk[:40]):
        params = case["params"]
        timestamp = params.get("timestamp", "")
        now = case["now"] or (int(timestamp) + 10 if timestamp.isdigit() else NOW)
        sig = params["sig"]
        if case.get("signing_string_rule") == "node-auth-underscore":
            error, why = "signature_mismatch", ("it is @vonage/auth's OUTBOUND request signing string (no '&' "
                                                "prefix, '&'/'=' replaced by '_'), which no webhook uses")
        elif not case["secret"]:
            error, why = "invalid_credentials", "an empty signature secret is a configuration error in telhook"
        elif not case["expect_valid"]:
            error = ("invalid_signature_format" if not all(c in "0123456789abcdefABCDEF" for c in sig)
                     or len(sig) not in (32, 40, 64, 128) else
                     "timestamp_out_of_tolerance" if case["now"] and timestamp.isdigit() else "signature_mismatch")
            why = "telhook refuses it too"
        elif not timestamp.isdigit():
            error, why = "missing_signature", ("its signature verifies, but it carries no timestamp: "
                                                 "telhook requires the signed timestamp")
        else:
            error, why = None, "so does telhook"
        if not 946684800 <= now <= 253402300799:
            # The SDK test's clock (1970) is no clock telhook accepts: a real one, at which the
            # signed timestamp is far older than the dedupe window.
            now = NOW
            if error is None:
                error, why = "timestamp_out_of_tolerance", (
                    "its signature verifies in telhook too, but its timestamp (the test's 1970 clock) is "
                    "older than the dedupe window at any real clock")
        description = (f"{case['source']} ({SDK} #{index}): {case['what']} - the SDK "
                       f"{'accepts' if case['expect_valid'] else 'refuses'} it; {why}"
                       + (f". {case['notes']}" if case.get("notes") else ""))
        if case.get("body"):
            vec("vonage", f"sdk_sms_{index:02d}", description, "vonage", case["body"],
                {"Content-Type": case["content_type"]}, {"jwt_hs256": case["secret"]}, error, url=SMS_URL, now=now)
        else:
            vec("vonage", f"sdk_sms_{index:02d}", description, "vonage", "", {}, {"jwt_hs256": case["secret"]},
                error, url=case["url"], method="GET", now=now)


# ----------------------------------------------------------------------------- Twilio
TWILIO_SDK = "tests/fixtures/sdk/twilio.json"
TWILIO_URL = "https://hooks.example.com/twilio/sms"
FORM = "application/x-www-form-urlencoded"


def twilio():
    """X-Twilio-Signature: HMAC-SHA1 (Auth Token) of the URL + sorted form parameters."""
    creds = {"auth_token": TWILIO_TOKEN}

    def post(name, description, params, url=TWILIO_URL, token=TWILIO_TOKEN, expect_error=None, signed_url=None,
             headers=None, credentials=None, options=None, provider="twilio", body=None):
        body = urlencode(params) if body is None else body
        h = {"Content-Type": FORM, "X-Twilio-Signature": twilio_signature(token, signed_url or url, params)}
        h.update(headers or {})
        vec("twilio", name, description, provider, body, h, creds if credentials is None else credentials,
            expect_error, url=url, options=options)

    account = "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
    sid = "SM2f3e1a0c9b8d7e6f5a4b3c2d1e0f9a8b"
    status = [("MessageSid", sid), ("SmsSid", sid), ("AccountSid", account),
              ("From", "+15017122661"), ("To", "+15558675310"), ("ApiVersion", "2010-04-01")]
    for word in ("accepted", "scheduled", "queued", "sending", "sent", "delivered", "read", "canceled",
                 "partially_delivered"):
        post(f"status_{word}", f"Messaging status callback '{word}' (the field names of Twilio's docs; "
             "synthetic values): MessageStatus and SmsStatus, no timestamp, so occurred_at is null",
             status + [("MessageStatus", word), ("SmsStatus", word)])
    for word, code in (("undelivered", "30003"), ("failed", "30008")):
        post(f"status_{word}", f"Messaging status callback '{word}' with its ErrorCode {code} "
             "(synthetic values in the docs' field names)",
             status + [("MessageStatus", word), ("SmsStatus", word), ("ErrorCode", code)])
    inbound = [("ToCountry", "US"), ("ToState", "CA"), ("SmsMessageSid", "SMb3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8"),
               ("NumMedia", "0"), ("ToCity", ""), ("FromZip", ""), ("SmsSid", "SMb3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8"),
               ("FromState", ""), ("SmsStatus", "received"), ("FromCity", ""), ("Body", "Hello + welcome & bye"),
               ("FromCountry", "GB"), ("To", "+15017122661"), ("ToZip", ""), ("NumSegments", "1"),
               ("MessageSid", "SMb3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8"), ("AccountSid", account),
               ("From", "+447700900123"), ("ApiVersion", "2010-04-01")]
    post("inbound_sms", "Inbound SMS (the docs' incoming-message parameters; synthetic values): "
         "'+' and '&' in the text arrive form-encoded", inbound)
    mms = [(k, {"NumMedia": "2", "Body": "", "NumSegments": "1"}.get(k, v)) for k, v in inbound] + [
        ("MediaUrl0", f"https://api.twilio.com/2010-04-01/Accounts/{account}/Messages/MM1/Media/ME1"),
        ("MediaContentType0", "image/jpeg"),
        ("MediaUrl1", f"https://api.twilio.com/2010-04-01/Accounts/{account}/Messages/MM1/Media/ME2"),
        ("MediaContentType1", "image/png")]
    post("inbound_mms", "Inbound MMS with two media: NumMedia and MediaUrlN kept in raw", mms)
    post("inbound_whatsapp", "Inbound WhatsApp: addresses carry the whatsapp: prefix, read as E.164",
         [(k, {"From": "whatsapp:+447700900123", "To": "whatsapp:+15017122661"}.get(k, v)) for k, v in inbound])
    # BotBuilderCommunity/botbuilder-community-js libraries/botbuilder-adapter-twilio-whatsapp/test/
    # twilioWhatsAppAdapter.test.js@0a9af35f, "parses a Twilio delivered event": a WhatsApp status callback
    # carries EventType (DELIVERED, READ) beside MessageStatus; it is no Conversations webhook.
    post("public_whatsapp_status_with_event_type", "BotBuilderCommunity/botbuilder-community-js "
         "libraries/botbuilder-adapter-twilio-whatsapp/test/twilioWhatsAppAdapter.test.js@0a9af35f: a WhatsApp "
         "delivered callback with EventType=DELIVERED is a message status keyed by its sid and status",
         [("EventType", "DELIVERED"), ("SmsSid", "SMdf55df64a2ff4920bb0748193cfbb640"), ("SmsStatus", "delivered"),
          ("MessageStatus", "delivered"), ("ChannelToAddress", "+31612345678"), ("To", "whatsapp:+31612345678"),
          ("ChannelPrefix", "whatsapp"), ("MessageSid", "SMdf55df64a2ff4920bb0748193cfbb640"),
          ("AccountSid", "AC1a03647d811fab342c0ad608e382fab2"), ("From", "whatsapp:+14123456789"),
          ("ApiVersion", "2010-04-01"), ("ChannelInstallSid", "XE4e524de4c4d93a42831b334b540bc5ae")])
    post("public_rcs_status_read", "twilio.com/docs/rcs/onboarding: a status callback delivered over RCS has "
         "From rcs:<SenderId> (an agent id, no address) and the recipient as rcs:+<number>, read as E.164",
         [("MessageSid", sid), ("MessageStatus", "read"), ("SmsStatus", "read"), ("AccountSid", account),
          ("From", "rcs:brand_xyz123_agent"), ("To", "rcs:+18001234567"), ("ApiVersion", "2010-04-01")])
    post("public_alphanumeric_sender_with_ampersand", "Twilio's AlphaSender resource allows A-Z, a-z, 0-9, "
         "space, hyphen, plus, underscore and ampersand: a sender ID M&S is kept as sent",
         status[:3] + [("From", "M&S"), ("To", "+447700900123"), ("MessageStatus", "sent"), ("SmsStatus", "sent")])
    call = [("CallSid", "CA5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b"), ("AccountSid", account), ("From", "+447700900123"),
            ("To", "+15017122661"), ("Direction", "inbound"), ("ApiVersion", "2010-04-01"),
            ("CallbackSource", "call-progress-events"), ("Timestamp", "Wed, 21 Jan 2026 12:50:00 +0000")]
    post("call_completed", "Voice status callback 'completed' with CallDuration (synthetic values in the docs' "
         "field names); occurred_at from Timestamp (RFC 2822)",
         call + [("CallStatus", "completed"), ("CallDuration", "42"), ("SequenceNumber", "3")],
         url="https://hooks.example.com/twilio/voice/status")
    post("call_no_answer", "Voice status callback 'no-answer' of an inbound call: call.missed",
         call + [("CallStatus", "no-answer"), ("SequenceNumber", "1")], url="https://hooks.example.com/twilio/voice/status")
    post("call_anonymous_caller", "A Voice request from a withheld number (From=Anonymous, as Twilio sends "
         "it): a caller is a phone number or null, never a sender ID",
         [(k, {"From": "Anonymous"}.get(k, v)) for k, v in call] + [("CallStatus", "completed"), ("CallDuration", "7")],
         url="https://hooks.example.com/twilio/voice/status")
    # A Twilio solutions engineer's Function for calls through a SIP Domain (deshartman/number-migrate
    # server/functions/inboundHandler.protected.js) reads To and From as SIP URIs with the number as
    # the user part ("Convert SIP URI to +E.164"): the parties are those numbers.
    post("call_through_sip_domain", "A Voice request for a call through a SIP Domain: To and From are SIP URIs "
         "whose user part is the number (deshartman/number-migrate server/functions/inboundHandler.protected.js "
         "converts them to E.164): the parties are the numbers",
         [(k, {"From": "sip:+61255501234@migrate.sip.twilio.com", "To": "sip:+61480000123@migrate.sip.twilio.com"}
           .get(k, v)) for k, v in call] + [("CallStatus", "ringing")],
         url="https://hooks.example.com/twilio/voice")
    post("call_from_sip_uri_off_twilio", "A Voice request whose From is a SIP URI on a host that is no Twilio "
         "SIP Domain (sip:+61255501234@sip.example.net): its user part is what the caller wrote, no number "
         "Twilio vouched for: from is null",
         [(k, {"From": "sip:+61255501234@sip.example.net"}.get(k, v)) for k, v in call] + [("CallStatus", "ringing")],
         url="https://hooks.example.com/twilio/voice")
    # A WhatsApp location (twilio.com/docs/whatsapp/api: Latitude, Longitude, Address, Label; the text
    # empty): Body= is sent with nothing in it, which is no text, as a media-only message's.
    post("whatsapp_location_empty_body", "An inbound WhatsApp location (Twilio's WhatsApp docs: Latitude, "
         "Longitude, Address, Label, MessageType=location) with Body= sent empty: message.text is null, as when "
         "Body is absent",
         [("Latitude", "37.7749"), ("Longitude", "-122.4194"), ("Address", "1 Market St"), ("Label", "Office"),
          ("SmsMessageSid", "SM2b3c4d5e6f708192a3b4c5d6e7f8091a"), ("NumMedia", "0"), ("ProfileName", "Jane"),
          ("MessageType", "location"), ("SmsSid", "SM2b3c4d5e6f708192a3b4c5d6e7f8091a"), ("WaId", "15558675310"),
          ("SmsStatus", "received"), ("Body", ""), ("To", "whatsapp:+14155238886"), ("NumSegments", "1"),
          ("MessageSid", "SM2b3c4d5e6f708192a3b4c5d6e7f8091a"), ("AccountSid", account),
          ("From", "whatsapp:+15558675310"), ("ApiVersion", "2010-04-01")])
    # A peer's handler tests: nyaruka/courier handlers/twiml/handlers_test.go@350e935007fd7e7cab689feee5ce97e326d49099
    # (the request bodies its TWIML/Twilio channel tests post, byte for byte), signed here as Twilio signs.
    courier = "nyaruka/courier handlers/twiml/handlers_test.go@350e935007fd7e7cab689feee5ce97e326d49099"
    for name, what, text in (
            ('receiveValid', 'an inbound SMS',
             'ToCountry=US&ToState=District+Of+Columbia&SmsMessageSid=SMe287d7109a5a925f182f0e07fe5b223b&NumMedia=0&ToCity=&FromZip=01022&SmsSid=SMe287d7109a5a925f182f0e07fe5b223b&FromState=MA&SmsStatus=received&FromCity=CHICOPEE&Body=Msg&FromCountry=US&To=%2B12028831111&ToZip=&NumSegments=1&MessageSid=SMe287d7109a5a925f182f0e07fe5b223b&AccountSid=acctid&From=%2B14133881111&ApiVersion=2010-04-01'),
            ('receiveMedia', 'an inbound MMS with two MediaUrlN (relative, as the test sends them) and no Body',
             'ToCountry=US&ToState=District+Of+Columbia&SmsMessageSid=SMe287d7109a5a925f182f0e07fe5b223b&NumMedia=2&ToCity=&FromZip=01022&SmsSid=SMe287d7109a5a925f182f0e07fe5b223b&FromState=MA&SmsStatus=received&FromCity=CHICOPEE&FromCountry=US&To=%2B12028831111&ToZip=&NumSegments=1&MessageSid=SMe287d7109a5a925f182f0e07fe5b223b&AccountSid=acctid&From=%2B14133881111&ApiVersion=2010-04-01&MediaUrl0=cat.jpg&MediaUrl1=dog.jpg'),
            ('receiveBase64', 'an inbound SMS whose Body is base64 text',
             'ToCountry=US&ToState=District+Of+Columbia&SmsMessageSid=SMe287d7109a5a925f182f0e07fe5b223b&NumMedia=0&ToCity=&FromZip=01022&SmsSid=SMe287d7109a5a925f182f0e07fe5b223b&FromState=MA&SmsStatus=received&FromCity=CHICOPEE&Body=QmFubm9uIEV4cGxhaW5zIFRoZSBXb3JsZCAuLi4K4oCcVGhlIENhbXAgb2YgdGhlIFNhaW50c%2BKA&FromCountry=US&To=%2B12028831111&ToZip=&NumSegments=1&MessageSid=SMe287d7109a5a925f182f0e07fe5b223b&AccountSid=acctid&From=%2B14133881111&ApiVersion=2010-04-01'),
            ('waReceiveValid', 'an inbound WhatsApp message: numbers read past whatsapp:',
             'ToCountry=US&ToState=District+Of+Columbia&SmsMessageSid=SMe287d7109a5a925f182f0e07fe5b223b&NumMedia=0&ToCity=&FromZip=01022&SmsSid=SMe287d7109a5a925f182f0e07fe5b223b&FromState=MA&SmsStatus=received&FromCity=CHICOPEE&Body=Msg&FromCountry=US&To=whatsapp:%2B12028831111&ToZip=&NumSegments=1&MessageSid=SMe287d7109a5a925f182f0e07fe5b223b&AccountSid=acctid&From=whatsapp:%2B14133881111&ApiVersion=2010-04-01'),
            ('waReceiveButtonValid', 'a WhatsApp button reply (ButtonText)',
             'ToCountry=US&ToState=District+Of+Columbia&SmsMessageSid=SMe287d7109a5a925f182f0e07fe5b223b&NumMedia=0&ToCity=&FromZip=01022&SmsSid=SMe287d7109a5a925f182f0e07fe5b223b&FromState=MA&SmsStatus=received&FromCity=CHICOPEE&Body=Msg&ButtonText=Confirm&FromCountry=US&To=whatsapp:%2B12028831111&ToZip=&NumSegments=1&MessageSid=SMe287d7109a5a925f182f0e07fe5b223b&AccountSid=acctid&From=whatsapp:%2B14133881111&ApiVersion=2010-04-01'),
            ('waReceiveBSUIDValid', "a WhatsApp message with the user's business-scoped id in ExternalUserId: the From number read",
             'ToCountry=US&ToState=District+Of+Columbia&SmsMessageSid=SMe287d7109a5a925f182f0e07fe5b223b&NumMedia=0&ToCity=&FromZip=01022&SmsSid=SMe287d7109a5a925f182f0e07fe5b223b&FromState=MA&SmsStatus=received&FromCity=CHICOPEE&Body=Msg&FromCountry=US&To=whatsapp:%2B12028831111&ToZip=&NumSegments=1&MessageSid=SMe287d7109a5a925f182f0e07fe5b223b&AccountSid=acctid&From=whatsapp:%2B14133881111&ExternalUserId=whatsapp:US.1234&ApiVersion=2010-04-01'),
            ('waReceiveFromBSUID', 'a WhatsApp message whose From is a business-scoped user id (whatsapp:US.1234): no address, null',
             'ToCountry=US&ToState=District+Of+Columbia&SmsMessageSid=SMe287d7109a5a925f182f0e07fe5b223b&NumMedia=0&ToCity=&FromZip=01022&SmsSid=SMe287d7109a5a925f182f0e07fe5b223b&FromState=MA&SmsStatus=received&FromCity=CHICOPEE&Body=Msg&FromCountry=US&To=whatsapp:%2B12028831111&ToZip=&NumSegments=1&MessageSid=SMe287d7109a5a925f182f0e07fe5b223b&AccountSid=acctid&From=whatsapp:US.1234&ExternalUserId=whatsapp:US.1234&ApiVersion=2010-04-01'),
            ('statusValid', 'a delivered status with only MessageSid and MessageStatus',
             'MessageSid=SMe287d7109a5a925f182f0e07fe5b223b&MessageStatus=delivered'),
            ('statusRead', 'a read status',
             'MessageSid=SMe287d7109a5a925f182f0e07fe5b223b&MessageStatus=read'),
            ('statusStop', 'a failed status with ErrorCode 21610 (the recipient replied STOP)',
             'ErrorCode=21610&MessageSid=SMe287d7109a5a925f182f0e07fe5b223b&MessageStatus=failed&To=%2B12028831111'),
            ('statusRateLimit', 'a failed status with ErrorCode 63018 (WhatsApp rate limit)',
             'MessageSid=SMe287d7109a5a925f182f0e07fe5b223b&MessageStatus=failed&ErrorCode=63018'),
            ('tmsReceiveExtra', 'an inbound SMS to the short code 384387 (To kept as sent)',
             'ToCountry=US&ToState=&SmsMessageSid=SMbbf29aeb9d380ce2a1c0ae4635ff9dab&NumMedia=0&ToCity=&FromZip=27609&SmsSid=SMbbf29aeb9d380ce2a1c0ae4635ff9dab&FromState=NC&SmsStatus=received&FromCity=RALEIGH&Body=John+Cruz&FromCountry=US&To=384387&ToZip=&NumSegments=1&MessageSid=SMbbf29aeb9d380ce2a1c0ae4635ff9dab&AccountSid=acctid&From=%2B14133881111&ApiVersion=2010-04-01'),
            ('tmsStatusExtra', 'a sent status of a Messaging Service message to the short code 2021',
             'SmsStatus=sent&MessageStatus=sent&To=2021&MessagingServiceSid=MGdb23ec0f89ee2632e46e91d8128f5e2b&MessageSid=SM0b6e2697aae04182a9f5b5c7a8994c7f&AccountSid=acctid&From=%2B14133881111&ApiVersion=2010-04-01'),
    ):
        snake = "".join("_" + c.lower() if c.isupper() else c for c in name).replace("b_s_u_i_d", "bsuid")
        post(f"public_courier_{snake}", f"{courier} '{name}': {what}", parse_qsl(text, keep_blank_values=True),
             body=text, url="https://hooks.example.com/c/tw/8eb23e93-5ecb-45ba-b726-3b064e0c56ab/receive")
    # A Spring app's controller test (Kotlin StoryControllerTests, callbackDeserialization_transcriptionComplete_
    # Success and _RecordingComplete_Success: the bodies Twilio sent it, byte for byte): a <Record>'s
    # transcription callback carries CallStatus=completed and was a second call.completed.
    peer = "a Spring app's StoryControllerTests (Kotlin), the body of callbackDeserialization_{}_Success"
    transcription = ("ApiVersion=2010-04-01&TranscriptionType=fast&TranscriptionUrl=https%3A%2F%2Fapi.twilio.com%2F2010-04-01"
                     "%2FAccounts%2FACcc830b11ab88f5dd8ccc1430511c2357%2FRecordings%2FRE64545a8c9fbe9d6d191c2423c2c993ce%2F"
                     "Transcriptions%2FTR5b7449e016d0716e82afae470221c007&TranscriptionSid=TR5b7449e016d0716e82afae470221c007"
                     "&Called=%2B19788356697&RecordingSid=RE64545a8c9fbe9d6d191c2423c2c993ce&CallStatus=completed&RecordingUrl="
                     "https%3A%2F%2Fapi.twilio.com%2F2010-04-01%2FAccounts%2FACcc830b11ab88f5dd8ccc1430511c2357%2FRecordings%2F"
                     "RE64545a8c9fbe9d6d191c2423c2c993ce&From=%2B18443555050&Direction=outbound-api&url=https%3A%2F%2F"
                     "webhook.site%2Fac9cab2b-ff6e-4e88-bf12-eb2bf33cb772%2Fl01xt1w8u21s&AccountSid=ACcc830b11ab88f5dd8ccc1430511c2357"
                     "&TranscriptionText=One%20of%20my%20fondest%20memories%20was%20going%20and%20getting%20ice%20cream"
                     "&Caller=%2B18443555050&TranscriptionStatus=completed&CallSid=CAb0b939e902e7a396204cd7ba8c85acbb"
                     "&To=%2B19788356697")
    post("transcription_callback_not_a_call_completion", peer.format("transcriptionComplete") + " (its "
         "TranscriptionText shortened): a transcription's callback names the call and its CallStatus=completed but "
         "is no change of it: type other, provider_event_type transcription, never a second call.completed",
         parse_qsl(transcription, keep_blank_values=True), body=transcription,
         url="https://hooks.example.com/twilio/voice/transcription")
    recording = ("RecordingSource=RecordVerb&RecordingSid=RE64545a8c9fbe9d6d191c2423c2c993ce&RecordingUrl=https%3A%2F%2F"
                 "api.twilio.com%2F2010-04-01%2FAccounts%2FACcc830b11ab88f5dd8ccc1430511c2357%2FRecordings%2F"
                 "RE64545a8c9fbe9d6d191c2423c2c993ce&RecordingStatus=completed&RecordingChannels=1&ErrorCode=0&CallSid="
                 "CAb0b939e902e7a396204cd7ba8c85acbb&RecordingStartTime=Mon%2C%2003%20Jul%202023%2021%3A45%3A28%20%2B0000"
                 "&AccountSid=ACcc830b11ab88f5dd8ccc1430511c2357&RecordingDuration=21")
    post("recording_status_callback", peer.format("RecordingComplete") + ": a recording's status callback: type "
         "other, provider_event_type recording, keyed by the body", parse_qsl(recording, keep_blank_values=True),
         body=recording, url="https://hooks.example.com/twilio/voice/recording")
    # Peer handler tests in the public code index (several projects' Twilio call-status handlers,
    # one a TypeScript telephony integration's vitest suite) post exactly this body: Twilio's plain
    # StatusCallback (a number's, or a call's without statusCallbackEvent) has no CallbackSource
    # and carries CallDuration as the call ends, which no <Gather>/<Record> action request does.
    plain_status = "CallSid=CA123&CallStatus=completed&CallDuration=42&SequenceNumber=3"
    post("public_plain_status_callback_completed", "Peer handler tests' Twilio call-status body "
         "(CallSid=CA123&CallStatus=completed&CallDuration=42&SequenceNumber=3, no CallbackSource: the plain "
         "StatusCallback a number or a call sends as it ends): call.completed keyed by the call and its status, "
         "duration 42 s", parse_qsl(plain_status, keep_blank_values=True), body=plain_status,
         url="https://hooks.example.com/twilio/voice/status")
    post("voice_request_after_hangup_completed", "A request of a call made after its hang-up (a <Record> action's: "
         "CallStatus completed, RecordingUrl, no CallbackSource; twilio.com/docs/voice/twiml/record's action "
         "parameters): call.status, never a second call.completed beside the status callback's",
         [(k, v) for k, v in call if k not in ("CallbackSource", "Timestamp")]
         + [("CallStatus", "completed"), ("RecordingUrl", "https://api.twilio.com/2010-04-01/Accounts/"
             "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/Recordings/REaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
            ("RecordingDuration", "12"), ("Digits", "hangup")],
         url="https://hooks.example.com/twilio/voice/recorded")
    voice = [(k, v) for k, v in call if k not in ("CallbackSource", "Timestamp")] + [("CallStatus", "ringing")]
    post("call_incoming", "The Voice URL request of an incoming call (CallStatus ringing, no CallbackSource): "
         "call.incoming", voice, url="https://hooks.example.com/twilio/voice")
    query = urlencode(voice)
    get_url = "https://hooks.example.com/twilio/voice?" + query
    vec("twilio", "call_incoming_get", "A Voice URL configured with GET: the parameters are the query, the "
        "signature is over the URL alone", "twilio", "", {"X-Twilio-Signature": twilio_signature(TWILIO_TOKEN, get_url)},
        creds, url=get_url, method="GET")
    post("rotated_token", "Signed with the previous Auth Token while both are configured", status + [
        ("MessageStatus", "delivered")], token=TWILIO_OLD_TOKEN, credentials={"auth_token": [TWILIO_TOKEN, TWILIO_OLD_TOKEN]})
    post("detected_by_header", "No provider named: X-Twilio-Signature identifies Twilio",
         status + [("MessageStatus", "delivered")], provider=None, credentials={"twilio": creds})
    post("redacts_the_auth_token", "An inbound text that quotes the Auth Token: redacted in the event and raw",
         [(k, {"Body": f"my token is {TWILIO_TOKEN}"}.get(k, v)) for k, v in inbound])
    post("idempotency_token_keys_an_odd_shape", "An authentic body with no SID: the I-Twilio-Idempotency-Token "
         "header is its id (the same on Twilio's redeliveries), type other", [("Foo", "bar")],
         headers={"I-Twilio-Idempotency-Token": "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d"})
    post("shape_unreadable_counts", "NumMedia and a number of the wrong form: verified, so an event, "
         "the unreadable fields listed", [(k, {"NumMedia": "many", "From": "not a number!"}.get(k, v)) for k, v in inbound])
    json_body = dumps({"MessageSid": sid, "MessageStatus": "delivered", "To": "+15558675310"})
    json_url = TWILIO_URL + "?bodySHA256=" + hashlib.sha256(json_body.encode()).hexdigest()
    vec("twilio", "json_body_with_body_sha256", "A JSON body: the signature covers the URL, whose bodySHA256 is "
        "the body's SHA-256", "twilio", json_body, {"Content-Type": "application/json",
        "X-Twilio-Signature": twilio_signature(TWILIO_TOKEN, json_url)}, creds, url=json_url)
    # Behind a proxy: the app sees http://127.0.0.1:8000/..., Twilio signed the public URL.
    private = "http://127.0.0.1:8000/twilio/sms"
    params = status + [("MessageStatus", "sent")]
    post("proxy_public_url", "Behind a reverse proxy: the receiver sees http://127.0.0.1:8000, Twilio signed "
         "https://hooks.example.com/twilio/sms; the public_url option is the URL set in Twilio's console", params,
         url=private, signed_url=TWILIO_URL, options={"public_url": TWILIO_URL})
    # Conversations webhooks (twilio.com/docs/conversations/conversations-webhooks): a message's
    # edit and removal repeat its MessageSid and Body; a redelivery changes only RetryCount.
    conversation = [("AccountSid", account), ("ConversationSid", "CHbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"),
                    ("MessageSid", "IMcccccccccccccccccccccccccccccccc"), ("Index", "3"), ("Author", "alice"),
                    ("ParticipantSid", "MBdddddddddddddddddddddddddddddddd"), ("Source", "SDK"),
                    ("DateCreated", "2026-01-21T12:50:00.000Z")]
    actions = (("added", [("EventType", "onMessageAdded"), ("Body", "hello"), ("RetryCount", "0")]),
               ("updated", [("EventType", "onMessageUpdated"), ("Body", "hello, edited"),
                            ("DateUpdated", "2026-01-21T12:51:00.000Z"), ("RetryCount", "0")]),
               ("updated_again", [("EventType", "onMessageUpdated"), ("Body", "hello, edited twice"),
                                  ("DateUpdated", "2026-01-21T12:52:00.000Z"), ("RetryCount", "0")]),
               ("updated_redelivered", [("EventType", "onMessageUpdated"), ("Body", "hello, edited"),
                                        ("DateUpdated", "2026-01-21T12:51:00.000Z"), ("RetryCount", "1")]),
               ("removed", [("EventType", "onMessageRemoved"), ("Body", "hello, edited twice"),
                            ("DateRemoved", "2026-01-21T12:53:00.000Z"), ("RetryCount", "0")]))
    # One receipt per participant (its DeliveryReceiptSid), and pre-action webhooks, which fire
    # before the message exists (no MessageSid, no time): each its own event.
    for participant in ("1", "2"):
        post(f"conversations_delivery_updated_participant_{participant}", "onDeliveryUpdated (the docs' "
             "parameters; synthetic values): one receipt per participant of a group conversation, the same "
             "message, status and time: keyed by its DeliveryReceiptSid", conversation + [
                 ("EventType", "onDeliveryUpdated"), ("DeliveryReceiptSid", f"DY{participant * 32}"),
                 ("ParticipantSid", f"MB{participant * 32}"), ("Status", "delivered"),
                 ("DateUpdated", "2026-01-21T12:50:01.000Z"), ("RetryCount", "0")])
    for number, text in (("1", "hello"), ("2", "second message")):
        post(f"conversations_pre_action_message_add_{number}", "A pre-action onMessageAdd (no MessageSid, no "
             "time: the message does not exist yet): keyed by the idempotency token or the body, so two "
             "messages of one participant are two events",
             [(k, v) for k, v in conversation if k not in ("MessageSid", "DateCreated", "Index")]
             + [("EventType", "onMessageAdd"), ("Body", text), ("RetryCount", "0")])
    for name, extra in actions:
        post(f"conversations_message_{name}", "A Conversations post-action webhook (the docs' parameters; "
             "synthetic values): each action on a message is its own event (action, message, time in the key), "
             "a redelivery (RetryCount 1) the same event; only onMessageAdded is message.received",
             conversation + extra)
    tfpecho = ("EventType=onMessageAdded&Attributes=%7B%7D&DateCreated=2021-08-10T18%3A00%3A58.111Z&Index=35&MessageSid="
               "IM8d613ccb9016450fa29faecfaa7bb6f4&AccountSid=ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa&Source=SDK&ClientIdentity=dave"
               "&RetryCount=0&Author=dave&ParticipantSid=MBc58b06998c564765bbff41cfd3a03219&Body=two&ConversationSid="
               "CH6c25138e952448e3b27ef8164097a1c7")
    post("conversations_message_added_logged", "tigerfarm/tfpecho README.md, a logged onMessageAdded delivery (its "
         "AccountSid replaced): occurred_at is the action's DateCreated, the time its key holds",
         parse_qsl(tfpecho, keep_blank_values=True), body=tfpecho, url="https://hooks.example.com/twilio/conversations")
    post("proxy_forwarded_headers", "Behind a proxy that sets X-Forwarded-Proto/-Host, trusted by the option",
         params, url="/twilio/sms", signed_url=TWILIO_URL, options={"trust_forwarded_headers": True},
         headers={"Host": "127.0.0.1:8000", "X-Forwarded-Proto": "https", "X-Forwarded-Host": "hooks.example.com"})
    # Two proxies in a row: each adds its own X-Forwarded-Host line (hyper hands both lines over
    # apart), and X-Forwarded-Proto arrives as a list. The client-facing values are the first.
    signed = {"Content-Type": FORM, "X-Twilio-Signature": twilio_signature(TWILIO_TOKEN, TWILIO_URL, params)}
    vec("twilio", "proxy_forwarded_headers_two_proxies", "Behind two proxies: X-Forwarded-Host on two lines "
        "and X-Forwarded-Proto as a list, trusted by the option; the first line's first value is the one "
        "Twilio called (never an ambiguous_header 401, which Twilio does not retry)", "twilio", urlencode(params),
        [[name, value] for name, value in signed.items()]
        + [["Host", "127.0.0.1:8000"], ["X-Forwarded-Proto", "https, http"],
           ["X-Forwarded-Host", "hooks.example.com"], ["X-Forwarded-Host", "lb.internal:8080"]],
        creds, url="/twilio/sms", options={"trust_forwarded_headers": True})
    post("err_proxy_without_public_url", "The same delivery without the option: refused, and the error names "
         "the URL checked (http://127.0.0.1:8000/twilio/sms)", params, url=private, signed_url=TWILIO_URL,
         expect_error="signature_mismatch")
    post("err_forwarded_headers_untrusted", "X-Forwarded-* are ignored unless trusted", params, url="/twilio/sms",
         signed_url=TWILIO_URL, headers={"Host": "127.0.0.1:8000", "X-Forwarded-Proto": "https",
                                         "X-Forwarded-Host": "hooks.example.com"}, expect_error="signature_mismatch")
    post("path_only_url_uses_host", "A path-only URL (Node's req.url) is read at https:// + Host", params,
         url="/twilio/sms", signed_url=TWILIO_URL, headers={"Host": "hooks.example.com"})
    # Refusals.
    delivered = status + [("MessageStatus", "delivered")]
    post("err_wrong_token", "Signed with another Auth Token", delivered, token="not-the-auth-token",
         expect_error="signature_mismatch")
    leaky_url = TWILIO_URL + "?" + TWILIO_TOKEN
    post("err_url_quoting_the_auth_token", "A forged request whose URL carries the Auth Token as a query name: "
         "refused, and the URL the error names hides it (every runtime checks no error shows a configured value; "
         "found by the normalize_twilio fuzz target)", delivered, url=leaky_url, signed_url=leaky_url,
         token="not-the-auth-token", expect_error="signature_mismatch")
    signed = twilio_signature(TWILIO_TOKEN, TWILIO_URL, delivered)
    tampered = urlencode(status + [("MessageStatus", "failed")])
    vec("twilio", "err_tampered_parameter", "A captured signature with one parameter changed", "twilio", tampered,
        {"Content-Type": FORM, "X-Twilio-Signature": signed}, creds, "signature_mismatch", url=TWILIO_URL)
    vec("twilio", "err_no_signature", "No X-Twilio-Signature", "twilio", urlencode(delivered), {"Content-Type": FORM},
        creds, "missing_signature", url=TWILIO_URL)
    post("err_missing_credentials", "No Auth Token configured", delivered, credentials=None and {},
         expect_error="missing_credentials")
    VECTORS["twilio/err_missing_credentials"]["credentials"] = None
    other = dumps({"MessageSid": sid, "MessageStatus": "failed", "To": "+15558675310"})
    vec("twilio", "err_body_sha256_of_another_body", "A captured signed URL (with bodySHA256) replayed with "
        "another JSON body: the hash is always checked", "twilio", other, {"Content-Type": "application/json",
        "X-Twilio-Signature": twilio_signature(TWILIO_TOKEN, json_url)}, creds, "signature_mismatch", url=json_url)
    vec("twilio", "err_put", "Twilio sends GET or POST; PUT is refused", "twilio", urlencode(delivered),
        {"Content-Type": FORM, "X-Twilio-Signature": signed}, creds, "method_not_allowed", url=TWILIO_URL, method="PUT")
    twilio_shared_key(status, delivered, sid)
    # The official SDKs' own cases.
    sdk = json.load(open(os.path.join(os.path.dirname(HERE), "fixtures", "sdk", "twilio.json"), encoding="utf-8"))
    errors = {9: "invalid_signature_format", 10: "missing_signature"}
    for index, case in enumerate(sdk):
        headers = dict(case["headers"])
        if case.get("content_type"):
            headers["Content-Type"] = case["content_type"]
        error = None if case["expect_valid"] else errors.get(index, "signature_mismatch")
        vec("twilio", f"sdk_{index:02d}", f"{case['source']} ({TWILIO_SDK} #{index}): {case['what']} - the SDK "
            f"{'accepts' if case['expect_valid'] else 'refuses'} it, so does telhook"
            + (f". {case['notes']}" if case.get("notes") else ""),
            "twilio", case["body"], headers, {"auth_token": case["secret"]}, error, url=case["url"],
            method=case["method"] if case["method"] != "POST" else None)


def twilio_shared_key(status, delivered, sid):
    """Shared keys (public beta): a Webhooks Rule matching the URL makes Twilio sign the same string
    with the Setting's SharedKey and algorithm, named in X-Twilio-Webhooks-Signature-Settings. The
    header alone decides the key: present, only the shared keys; absent, only the Auth Token."""
    settings = "X-Twilio-Webhooks-Signature-Settings"
    sha256 = "key=,algorithm=HMAC_SHA256"
    both = {"auth_token": TWILIO_TOKEN, "shared_key": TWILIO_SHARED_KEY}

    def sk(name, description, params, key=TWILIO_SHARED_KEY, algorithm="HMAC_SHA256", header=sha256,
           credentials=None, expect_error=None, url=TWILIO_URL, signed_url=None, signed_params=None):
        h = {"Content-Type": FORM, "X-Twilio-Signature": twilio_signature(
            key, signed_url or url, params if signed_params is None else signed_params, algorithm)}
        if header is not None:
            h[settings] = header
        vec("twilio", f"shared_key_{name}", description, "twilio", urlencode(params), h,
            both if credentials is None else credentials, expect_error, url=url)

    sk("hmac_sha256", "A form POST signed with a Webhooks Setting's shared key and HMAC_SHA256 (empty key id, "
       "as in twilio-node's example): the URL and sorted parameters, as with the Auth Token", delivered)
    sk("hmac_sha1", "A shared key whose Setting uses HMAC_SHA1, with a key id", delivered, algorithm="HMAC_SHA1",
       header="key=KS0123456789abcdef0123456789abcdef,algorithm=HMAC_SHA1")
    sk("algorithm_case_and_spaces", "The settings header's names and algorithm read case-insensitively, "
       "spaces around entries ignored", delivered, header=" Algorithm = hmac_sha256 , KEY = ")
    sk("rotated", "Signed with the previous shared key while both are configured (a rotation)", delivered,
       key=TWILIO_OLD_SHARED_KEY, credentials={"auth_token": TWILIO_TOKEN,
                                              "shared_key": [TWILIO_SHARED_KEY, TWILIO_OLD_SHARED_KEY]})
    sk("only_shared_key_configured", "A receiver configured with the shared key alone (every URL under a "
       "Webhooks Rule) verifies shared-key requests", delivered, credentials={"shared_key": TWILIO_SHARED_KEY})
    json_body = dumps({"MessageSid": sid, "MessageStatus": "read", "To": "+15558675310"})
    json_url = TWILIO_URL + "?bodySHA256=" + hashlib.sha256(json_body.encode()).hexdigest()
    json_headers = {"Content-Type": "application/json", settings: sha256,
                    "X-Twilio-Signature": twilio_signature(TWILIO_SHARED_KEY, json_url, (), "HMAC_SHA256")}
    vec("twilio", "shared_key_json_body_sha256", "A JSON body signed with a shared key: HMAC-SHA256 of the URL, "
        "whose bodySHA256 is the body's SHA-256", "twilio", json_body, json_headers, both, url=json_url)
    # One byte changed after signing: the URL, a parameter, the JSON body.
    sk("err_url_changed", "Signed for .../twilio/sms, received at .../twilio/smt (one byte)", delivered,
       url=TWILIO_URL[:-1] + "t", signed_url=TWILIO_URL, expect_error="signature_mismatch")
    changed = [(k, {"MessageStatus": "delivereD"}.get(k, v)) for k, v in delivered]
    sk("err_parameter_changed", "One byte of one parameter changed after signing (delivered -> delivereD)",
       changed, signed_params=delivered, expect_error="signature_mismatch")
    vec("twilio", "shared_key_err_json_body_changed", "The signed URL (bodySHA256) with one byte of the JSON "
        "body changed", "twilio", json_body.replace('"read"', '"reaD"'), json_headers, both,
        "signature_mismatch", url=json_url)
    # The header decides the key: no downgrade to the Auth Token, no shared key without it.
    sk("err_downgrade_to_auth_token", "The settings header present, signed with the Auth Token (HMAC_SHA256): "
       "only the shared keys are tried", delivered, key=TWILIO_TOKEN, expect_error="signature_mismatch")
    sk("err_auth_token_signature_with_header_added", "An Auth Token signature (HMAC-SHA1) with a settings "
       "header naming HMAC_SHA1 added: only the shared keys are tried", delivered, key=TWILIO_TOKEN,
       algorithm="HMAC_SHA1", header="key=,algorithm=HMAC_SHA1", expect_error="signature_mismatch")
    sk("err_without_settings_header", "Signed with the shared key (HMAC-SHA1) but no settings header: only the "
       "Auth Token is tried", delivered, algorithm="HMAC_SHA1", header=None, expect_error="signature_mismatch")
    sk("err_sha256_without_settings_header", "An HMAC-SHA256 signature without the settings header: not the "
       "20-byte HMAC-SHA1 the Auth Token signs", delivered, header=None, expect_error="invalid_signature_format")
    # The settings header itself.
    sk("err_unsupported_algorithm", "An algorithm telhook does not verify (HMAC_SHA512): refused, naming the "
       "header and the algorithms expected", delivered, header="key=,algorithm=HMAC_SHA512",
       expect_error="unsupported_signature_algorithm")
    sk("err_algorithm_twice", "Two algorithm entries: ambiguous, refused", delivered,
       header="algorithm=HMAC_SHA256,algorithm=HMAC_SHA1", expect_error="invalid_signature_format")
    sk("err_settings_without_algorithm", "A settings header with no algorithm entry", delivered, header="key=KS1",
       expect_error="invalid_signature_format")
    sk("err_settings_oversized", "A settings header over 256 bytes (a 4 000-byte key id): refused before it is "
       "split", delivered, header="key=" + "K" * 4000 + ",algorithm=HMAC_SHA256", expect_error="invalid_signature_format")
    sk("err_settings_padded_entries", "A settings header padded to 21 entries (81 bytes): more than 8 entries "
       "is refused before any is read", delivered, header="a=," * 20 + "algorithm=HMAC_SHA256",
       expect_error="invalid_signature_format")
    # The key the request asks for is not configured: the receiver's misconfiguration (5xx).
    sk("err_not_configured", "The settings header present and no shared_key configured: missing_credentials, "
       "a configuration error (answered 500), never a 4xx that would drop the event", delivered,
       credentials={"auth_token": TWILIO_TOKEN}, expect_error="missing_credentials")
    post_auth = twilio_signature(TWILIO_TOKEN, TWILIO_URL, delivered)
    vec("twilio", "shared_key_err_auth_token_not_configured", "No settings header (signed with the Auth Token) "
        "to a receiver configured with a shared key only: missing_credentials (answered 500)", "twilio",
        urlencode(delivered), {"Content-Type": FORM, "X-Twilio-Signature": post_auth},
        {"shared_key": TWILIO_SHARED_KEY}, "missing_credentials", url=TWILIO_URL)


# ----------------------------------------------------------------------------- LoopLookup
def looplookup():
    creds = {"authorization": LOOP_AUTH}

    def h(auth=LOOP_AUTH):
        return {"Content-Type": "application/json", "User-Agent": "LoopServer", "Connection": "close",
                "Authorization": auth}

    full = {"contact": "+13231112233", "request_id": "2f31A2B6-Fd5F-4118-A85f-DafbBcB7f4C2",
            "webhook_id": "32c127be-54a5-4f9a-bf53-2f91c2290e07",
            "result_v1": {
                "apple_services": {
                    "facetime": {"status": "available", "date": "2022-12-13",
                                 "links": {"facetime_audio": "facetime-audio://+13231112233",
                                           "facetime": "facetime://+13231112233", "tel": "tel://+13231112233"}},
                    "imessage": {"status": "available", "date": "2022-12-12",
                                 "links": {"imessage": "imessage://+13231112233", "sms": "sms://+13231112233"}}},
                "carrier": {"carrier": "Verizon", "number_type": "mobile"},
                "country": {"flag": "\U0001F1FA\U0001F1F8", "iso2": "US", "iso3": "USA",
                            "name": "United States of America", "description": "CA", "numeric": 840},
                "currencies": ["USD", "EUR", "GBP"],
                "format": {"e164": "+13231112233", "international": "+1 323-111-2233",
                           "national": "(323) 111-2233", "out_of_usa": "1 (323) 111-2233",
                           "rfc3966": "tel:+1-323-111-2233"},
                "time_zones": ["America/Los_Angeles"]}}
    body = json.dumps(full, indent=2, ensure_ascii=False)
    vec("looplookup", "doc_full_result", "The doc's first sample", "looplookup", body, h(), creds)
    short = {k: full[k] for k in ("contact", "request_id", "webhook_id")}
    short["result_v1"] = {"apple_services": full["result_v1"]["apple_services"]}
    body = json.dumps(short, indent=2)
    vec("looplookup", "doc_apple_only", "The doc's second sample (apple services only)", "looplookup", body,
        h(), creds)
    numeric = dict(short, webhook_id=7123)
    body = json.dumps(numeric, indent=2)
    vec("looplookup", "webhook_id_as_a_number", "webhook_id written as a JSON integer: the same key as its text "
        "(looplookup:7123), not the body's hash, so a redelivery that differs in a byte is still one event",
        "looplookup", body, h(), creds)
    email = {"contact": "Jane.Doe@Example.COM", "request_id": "a1b2c3d4-0000-4000-8000-000000000001",
             "webhook_id": "5b0a6f7e-1c2d-4e3f-8a9b-0c1d2e3f4a5b",
             "result_v1": {"apple_services": {"facetime": {"status": "unavailable", "date": None},
                                              "imessage": {"status": "unknown", "date": None}}}}
    body = dumps(email)
    vec("looplookup", "email_contact_lowercased", "An email contact is lower-cased; null dates", "looplookup",
        body, h(), creds)
    noid = {"contact": "+447700900123", "request_id": "a1b2c3d4-0000-4000-8000-000000000002",
            "result_v1": {"carrier": {"carrier": "EE", "number_type": "mobile"}, "country": {"iso2": "GB"}}}
    body = dumps(noid)
    vec("looplookup", "without_webhook_id", "No webhook_id: the key is derived from the body", "looplookup",
        body, h(), creds)
    extra = dict(full, webhook_id="6c1b7080-2d3e-4f40-9bac-1d2e3f4a5b6c",
                 result_v1=dict(full["result_v1"], whatsapp={"status": "available"}, spam_score=0.1),
                 api_version="2025-06")
    body = dumps(extra)
    vec("looplookup", "new_fields_kept", "Fields added later are kept in raw", "looplookup", body, h(), creds)
    formatted = dict(short, contact="+1 323-111-2233", webhook_id="7d2c8191-3e4f-4051-8cbd-2e3f4a5b6c7d")
    body = dumps(formatted)
    vec("looplookup", "formatted_contact", "A formatted number is canonicalized to E.164", "looplookup", body,
        h(), creds)
    body = dumps(short)
    vec("looplookup", "detected_by_user_agent", "No provider named: User-Agent LoopServer", None, body, h(), {"looplookup": creds})
    no_ua = h()
    del no_ua["User-Agent"]
    vec("looplookup", "detected_by_body", "No provider named and no User-Agent: the body shape", None, body,
        no_ua, {"looplookup": creds})
    vec("looplookup", "rotated_authorization", "The previous Authorization value while both are configured",
        "looplookup", body, h(LOOP_AUTH_OLD), {"authorization": [LOOP_AUTH, LOOP_AUTH_OLD]})
    # Negative cases.
    vec("looplookup", "err_wrong_authorization", "Wrong Authorization value", "looplookup", body,
        h("Token guessed"), creds, "authorization_mismatch")
    vec("looplookup", "err_authorization_prefix_only", "Only the scheme of the configured value", "looplookup",
        body, h("Token"), creds, "authorization_mismatch")
    missing = h()
    del missing["Authorization"]
    vec("looplookup", "err_missing_authorization", "No Authorization header", "looplookup", body, missing, creds,
        "missing_authorization")
    vec("looplookup", "err_empty_authorization", "An empty Authorization header", "looplookup", body, h(""),
        creds, "invalid_authorization_format")
    vec("looplookup", "err_missing_credentials", "No credentials configured", "looplookup", body, h(), None,
        "missing_credentials")
    vec("looplookup", "err_malformed_json", "Truncated JSON", "looplookup", body[:-10], h(), creds,
        "malformed_json")
    no_request = dumps({"contact": "+13231112233", "webhook_id": "x"})
    vec("looplookup", "shape_missing_request_id", "No request_id: verified, so still an event", "looplookup", no_request, h(), creds)
    bad_date = dumps({"contact": "+13231112233", "request_id": "r", "webhook_id": "w",
                      "result_v1": {"apple_services": {"facetime": {"status": "available", "date": "13/12/2022"}}}})
    vec("looplookup", "shape_unreadable_date", "A date that is not ISO 8601: verified, so still an event", "looplookup", bad_date, h(), creds)


# ----------------------------------------------------------------------------- DID reseller
def did_reseller():
    creds = {"url_token": DID_TOKEN}
    url = f"https://hooks.example.com/did?token={DID_TOKEN}"
    h = {"Content-Type": "application/json"}

    def hook(change, schema, data):
        return dumps({"type": change, "schema": schema, "data": dumps(data)})

    did = {"id": 48213, "user_id": 311, "call_flow_id": 12, "channel_group_id": None, "voicemail_inbox_id": 7,
           "number": "3035551234", "number_type": "local", "state": "CO", "ratecenter": "DENVER",
           "sms_enabled": 1, "xmpp_enabled": 0, "inbound_cnam": 1}
    body = hook("update", "dids", did)
    vec("did_reseller", "dids_update", "A DID changed; data is a JSON string", "did_reseller", body, h, creds,
        url=url)
    body = hook("update", "dids", dict(did, sms_enabled=0))
    vec("did_reseller", "dids_update_sms_off", "The same DID with SMS switched off (then on again: the same "
        "bytes as dids_update, a real change all the same)", "did_reseller", body, h, creds, url=url)
    body = hook("insert", "dids", dict(did, id=48214, number="7205550100"))
    vec("did_reseller", "dids_insert", "A DID bought", "did_reseller", body, h, creds, url=url)
    body = hook("delete", "dids", {"id": 48213})
    vec("did_reseller", "dids_delete", "A DID released", "did_reseller", body, h, creds, url=url)
    lnp = {"id": 902, "user_id": 311, "btn": "3035550000", "location_type": "business",
           "business_contact": "Pat Lee", "business_name": "Acme", "first_name": "Pat", "last_name": "Lee",
           "account_number": "ACCT-99812", "service_address": "1 Main St", "service_state": "CO",
           "service_zip": "80202", "partial_port": 0, "partial_port_details": "", "wireless_number": 1,
           "wireless_pin": "4321", "caller_id": "ACME", "request_status": "submitted", "foc_date": "2026-02-01"}
    body = hook("insert", "lnp_requests", lnp)
    vec("did_reseller", "lnp_request_pins_redacted", "A port request: wireless_pin and account_number redacted",
        "did_reseller", body, h, creds, url=url)
    inbox = {"id": 7, "user_id": 311, "inbox_number": "100", "inbox_name": "Sales", "inbox_pin": "0000",
             "transcribe": 1}
    body = hook("update", "voicemail_inboxes", inbox)
    vec("did_reseller", "voicemail_inbox_pin_redacted", "A voicemail inbox: inbox_pin redacted", "did_reseller",
        body, h, creds, url=url)
    body = hook("insert", "faxes", {"id": 55, "did_id": 48213, "fax_status": "received", "direction": "inbound",
                                    "source_did": "3035559876", "destination_did": "3035551234", "recipient": "",
                                    "pages": 2})
    vec("did_reseller", "faxes_insert", "A fax record", "did_reseller", body, h, creds, url=url)
    body = hook("update", "widgets", {"id": "w-1", "color": "blue"})
    vec("did_reseller", "unknown_schema", "A schema this version does not know is a generic record change",
        "did_reseller", body, h, creds, url=url)
    for name, verbose in [("already_provisioned", "already provisioned"), ("not_10_digits", "not 10 digits"),
                          ("empty_verbose", "")]:
        body = dumps({"type": "update", "schema": "sms_enablement", "status": "error", "verbose": verbose})
        vec("did_reseller", f"sms_enablement_error_{name}", f"The error form with verbose {verbose!r}",
            "did_reseller", body, h, creds, url=url)
    body = hook("update", "dids", did)
    vec("did_reseller", "basic_auth", "Protected by Basic auth instead of a URL token", "did_reseller", body,
        {"Authorization": basic(DID_USER, DID_PASS)}, {"basic": [{"username": DID_USER, "password": DID_PASS}]},
        url="https://hooks.example.com/did")
    # The record's JSON text written by a JavaScript or Python encoder from a name cut inside an
    # emoji (see limephone/text_cut_mid_emoji): still read as the record, its PIN still redacted.
    cut = dict(lnp, id=903, business_name="Acme \ud83c")
    body = dumps({"type": "insert", "schema": "lnp_requests", "data": json.dumps(cut, separators=(",", ":"))})
    assert "\\\\ud83c" in body, body
    vec("did_reseller", "lnp_request_lone_surrogate_in_record", "A port request whose record text holds an "
        "escaped lone surrogate: the record is read (the half as U+FFFD) and its PINs redacted",
        "did_reseller", body, h, creds, url=url)
    body = dumps({"type": "update", "schema": "dids", "data": did})
    vec("did_reseller", "data_already_object", "data sent as an object is accepted", "did_reseller", body, h,
        creds, url=url)
    body = hook("update", "dids", did)
    vec("did_reseller", "detected_by_body", "No provider named: {type, schema} identifies the reseller", None,
        body, h, {"did_reseller": creds}, url=url)
    vec("did_reseller", "custom_token_param", "A token under a configured parameter name", "did_reseller", body,
        h, {"url_token": DID_TOKEN, "url_token_param": "k"},
        url=f"https://hooks.example.com/did?src=did&k={DID_TOKEN}")
    # A token too short for the configured-value rule (8 characters) under a parameter name no
    # secret has: the users record echoes the receiver's URL, and the name configured for the
    # token is what makes its value a secret there.
    short = {"url_token": "k7Qp2", "url_token_param": "k"}
    user = {"id": 312, "username": "acme", "timezone": "America/Denver",
            "web_hook_url": "https://hooks.example.com/did?src=did&k=k7Qp2",
            "notes": "portal code k7Qp2 (kept: too short to search prose for)"}
    vec("did_reseller", "users_short_token_under_custom_param_redacted",
        "A users record echoes the receiver's URL whose 5-character token sits under the configured "
        "parameter name k: its value is redacted in the URL",
        "did_reseller", hook("update", "users", user), h, short,
        url="https://hooks.example.com/did?src=did&k=k7Qp2")
    # The receiver's own secrets echoed back inside the payload are redacted (issue 12).
    both = {"url_token": DID_TOKEN, "basic": [{"username": DID_USER, "password": DID_PASS}]}
    user = {"id": 311, "username": "acme", "web_hook_url": f"https://hooks.example.com/did?token={DID_TOKEN}&v=2",
            "sms_post_url": f"https://{DID_USER}:{DID_PASS}@hooks.example.com/sms",
            "notes": f"rotate {DID_TOKEN} monthly",
            "settings": dumps({"WIRELESS-PIN": "1234", "callback": "https://cb.example/x?Signature=abc&id=7"}),
            "wirelessPin": "9876", "api_key": "k-1", "timezone": "America/Denver"}
    users = hook("update", "users", user)
    vec("did_reseller", "users_receiver_secrets_redacted",
        "A users record echoes the receiver's URL token, Basic password and secret-named fields",
        "did_reseller", users, h, both, url=url)
    # Maps written into a text by something other than a JSON writer, and JSON no strict parser
    # reads, each produced here by the writer named (Python 3.11): no key rule can reach inside,
    # so a text that keys a secret goes whole; one that does not stays as sent.
    settings = {"WIRELESS-PIN": "1234", "callback": "https://cb.example/x?id=7"}
    written = {
        "settings_python_str": str(settings),  # str(dict): single quotes
        "settings_json_nan": json.dumps(dict(settings, ratio=float("nan"))),  # allow_nan=True: NaN
        "settings_json_cut": json.dumps(settings)[:24],  # a column cut at 24 characters
        "settings_ruby_inspect": '{"WIRELESS-PIN"=>"1234", "callback"=>"https://cb.example/x?id=7"}',
        "settings_java_to_string": "{WIRELESS-PIN=1234, callback=https://cb.example/x?id=7}",
        "settings_ruby_symbols": '{:wireless_pin=>"1234", :callback=>"https://cb.example/x?id=7"}',
        "settings_ruby_3_4": '{wireless_pin: "1234", callback: "https://cb.example/x?id=7"}',
        "notes_bracketed_prose": "[Acme] new PIN=1234 set by phone",
        "prefs_python_str": str({"timezone": "America/Denver", "lang": "en"}),
    }
    assert "NaN" in written["settings_json_nan"] and "1234" in written["settings_json_cut"]
    not_json = hook("update", "users", dict({"id": 312, "username": "acme2"}, **written))
    vec("did_reseller", "users_settings_not_json_redacted",
        "A users record whose texts hold maps no JSON parser reads (Python str(dict), json.dumps with NaN, "
        "a cut JSON text, Ruby Hash#inspect with string and symbol keys, Ruby 3.4's, Java Map.toString): each "
        "that keys a PIN is replaced whole; the one without a secret-named key, and bracketed prose, kept as sent", "did_reseller", not_json, h, creds, url=url)
    # A value serialized once too often: the settings object JSON-encoded twice (a JSON string
    # holding JSON), and its inside pasted as is (JSON escaped once too many). Each is redacted
    # as the JSON inside and written back in its own form; one without a secret is kept.
    encoded = json.dumps({"WIRELESS-PIN": "1234", "callback": "https://cb.example/x?token=t0k3n&id=7",
                          "timezone": "America/Denver"})
    twice = {"settings_encoded_twice": json.dumps(encoded), "settings_escaped_inside": json.dumps(encoded)[1:-1],
             "prefs_encoded_twice": json.dumps(json.dumps({"lang": "en"}))}
    vec("did_reseller", "users_settings_json_encoded_twice_redacted",
        "A users record whose settings were JSON-encoded twice, or pasted escaped: the PIN and the callback's "
        "token are redacted inside, each text written back in the form it came in; a text without a secret kept",
        "did_reseller", hook("update", "users", dict({"id": 313, "username": "acme3"}, **twice)), h, creds, url=url)
    # Found by the redaction fuzz target: JSON text inside a string whose escape (`\f`) is followed
    # by the tail of a token that starts with `f` spells the token once re-encoded, although the
    # decoded text never contains it. The whole string is redacted.
    f_token = "f-echo-token-9c1d"
    settings = "{\"password\":\"p\",\"\\u000c" + f_token[1:] + "\":1}"
    unchanged = "{\"note\":\"\\f" + f_token[1:] + "n\"}"
    users = hook("update", "users", {"id": 312, "username": "fz", "settings": settings, "notes": unchanged,
                                     "timezone": "America/Denver"})
    vec("did_reseller", "users_escape_spells_token_redacted",
        "Nested JSON whose escape plus a token's tail spells the token is redacted whole",
        "did_reseller", users, h, {"url_token": f_token}, url=f"https://hooks.example.com/did?token={f_token}")
    error_form = dumps({"type": "update", "schema": "users", "status": "error",
                        "verbose": f"POST https://hooks.example.com/did?token={DID_TOKEN} failed",
                        "data": dumps({"id": 311, "sms_post_url": f"https://{DID_USER}:{DID_PASS}@hooks.example.com/sms",
                                       "wireless_pin": "4321", f"seen_{DID_TOKEN}": 1})})
    vec("did_reseller", "error_form_receiver_secrets_redacted",
        "The error form: verbose and the data string are redacted by the same rules",
        "did_reseller", error_form, h, both, url=url)
    # An upstream's answer quoted in the error text (a log line): a map in prose keys a secret as a
    # map text does, so the text goes whole; one encoded twice inside prose too; prose with a map
    # that keys nothing is kept.
    quoted = dumps({"type": "update", "schema": "users", "status": "error",
                    "verbose": 'POST https://sms.example/v1 answered 401: {"error":"denied","api_key":"k-5531-upstream"}',
                    "data": dumps({"id": 314,
                                   "note": 'provisioning said "' + json.dumps({"pin": "8812", "ok": False})
                                   .replace('"', '\\"') + '" (retrying)',
                                   "hint": 'retry with {"backoff": 60} next time',
                                   # A review: a brace that never closes in a message is prose (kept);
                                   # PHP's var_dump keys its values as ["name"]=> (redacted).
                                   "sms": "Dear {customer_name, your PIN: 4821",
                                   "dump": 'object(stdClass)#1 (1) { ["password"]=> string(10) "hunter2xyz" }'})})
    vec("did_reseller", "error_form_map_quoted_in_prose_redacted",
        "The error form whose verbose text quotes an upstream's JSON answer with an api_key, and a record note "
        "quoting a map encoded twice with a pin and a PHP var_dump of a password: each text goes whole; prose quoting a map "
        "that keys nothing, and an SMS whose brace never closes, are kept",
        "did_reseller", quoted, h, creds, url=url)
    # A PHP sender's log line copies its JSON, where json_encode writes every `/` as `\/`: a URL's
    # password in that spelling is redacted as in a plain URL. Config-dump key spellings too.
    php_url = "https:\\/\\/ops:Zq7-relay-88@sms.example\\/v1"
    php_logged = dumps({"type": "update", "schema": "users", "status": "error",
                        "verbose": f'POST {php_url} failed: {{"url":"{php_url}","attempt":2}}',
                        "data": dumps({"id": 315, "sip_passwd": "b7-sip-2231", "ftpPwd": "ftp-9a1",
                                       "private_key": "-----BEGIN EC PRIVATE KEY-----MHcCAQEEIL", "cwd": "/var/spool"})})
    vec("did_reseller", "error_form_php_escaped_url_redacted",
        "The error form whose verbose text copies a PHP sender's JSON (`https:\\/\\/user:password@host`): "
        "the URL's password is redacted as in a plain URL; a record's sip_passwd, ftpPwd and private_key too",
        "did_reseller", php_logged, h, creds, url=url)
    # Negative cases.
    vec("did_reseller", "err_wrong_token", "Wrong URL token", "did_reseller", body, h, creds,
        "authorization_mismatch", url="https://hooks.example.com/did?token=guess")
    vec("did_reseller", "err_no_token", "No token in the URL", "did_reseller", body, h, creds,
        "missing_authorization", url="https://hooks.example.com/did")
    vec("did_reseller", "err_conflicting_tokens", "The token twice with different values", "did_reseller", body,
        h, creds, "ambiguous_header", url=f"https://hooks.example.com/did?token=guess&token={DID_TOKEN}")
    vec("did_reseller", "err_missing_credentials", "No credentials configured", "did_reseller", body, h, None,
        "missing_credentials", url=url)
    bad = dumps({"type": "update", "schema": "dids", "data": "{id: 1, number: 3035551234"})
    vec("did_reseller", "shape_data_not_json", "data is a string but not JSON: verified, so still an event", "did_reseller", bad, h, creds, url=url)
    arr = dumps({"type": "update", "schema": "dids", "data": "[1,2,3]"})
    vec("did_reseller", "shape_data_json_array", "data decodes to an array: verified, so still an event", "did_reseller", arr, h, creds, url=url)
    curly = "{\n\u201ctype\u201d:\u201cupdate\u201d,\n\u201cschema\u201d:\u201csms_enablement\u201d,\n" \
            "\u201cstatus\u201d:\u201cerror\u201d,\n\u201cverbose\u201d:\u201calready provisioned\u201d\n}"
    vec("did_reseller", "err_doc_curly_quotes", "The doc's sample verbatim, with typographic quotes",
        "did_reseller", curly, h, creds, "malformed_json", url=url)
    upsert = hook("upsert", "dids", did)
    vec("did_reseller", "shape_unknown_change_type", "type outside insert/update/delete: verified, so still an event", "did_reseller", upsert,
        h, creds, url=url)
    no_data = dumps({"type": "update", "schema": "dids"})
    vec("did_reseller", "shape_no_data", "Neither data nor the error form: verified, so still an event", "did_reseller", no_data, h, creds, url=url)


# ----------------------------------------------------------------------------- any provider
def common():
    body = dumps({"hello": "world"})
    vec("common", "err_unknown_provider_name", "A provider name telhook does not know", "sinch", body, {},
        {"insecure_skip_verification": True}, "unknown_provider")
    vec("common", "err_undetectable", "No provider named and nothing identifies one", None, body, {},
        {"insecure_skip_verification": True}, "provider_not_detected")
    vec("common", "err_undetectable_not_json", "No provider named and a body that is not JSON", None,
        "", {}, {"insecure_skip_verification": True}, "provider_not_detected",
        body_base64=base64.b64encode(b"\xff\xfe\x00garbage").decode())
    vec("common", "err_declared_length_too_large", "A Content-Length over the limit is refused up front",
        "limephone", body, {"Content-Length": "104857600"}, {"insecure_skip_verification": True},
        "body_too_large")
    vec("common", "err_invalid_utf8_body", "A body that is not UTF-8", "lisoloo", "",
        {}, {"insecure_skip_verification": True}, "malformed_json",
        body_base64=base64.b64encode(b'{"event_id":"\xff\xfe"}').decode())
    vec("common", "err_empty_secret_configured", "An empty secret is a configuration error", "limephone", body,
        {"X-LimePhone-Signature": hmac_hex("", body)}, {"hmac_sha256": [""]}, "invalid_credentials")
    # A list of secrets where an object is expected was read by position by serde's derived
    # reader: LimePhone's [old, new] became hmac_sha256 = old and bearer = new, so the rotation
    # silently failed every delivery signed with the new secret. Refused where configured now.
    signed_old = {"X-LimePhone-Signature": hmac_hex(LIME_SECRET, body)}
    vec("common", "err_credentials_list_not_read_by_position",
        "Credentials given as a list of secrets, not an object: refused (was read by position as "
        "hmac_sha256, then bearer)", "limephone", body, signed_old, [LIME_SECRET, "next-secret"],
        "invalid_credentials")
    vec("common", "err_provider_credentials_list_not_read_by_position",
        "A provider's credentials given as a list of secrets, not an object: refused (was read by "
        "position as hmac_sha256, then bearer)", "limephone", body, signed_old,
        {"limephone": [LIME_SECRET, "next-secret"]}, "invalid_credentials")
    lime = dumps({"event": "sms_received", "message_id": "msg-lower-1", "from": "+4512345678",
                  "to": "+4587654321", "message_content": "hi", "timestamp": "2026-01-21T12:00:00Z"})
    for name, declared in (("plus_sign", "+99999999999"), ("superscript_two", "\u00b2")):
        vec("common", f"content_length_{name}_is_no_declared_length",
            "A Content-Length of anything but ASCII digits declares nothing, in every runtime (Rust read "
            "'+9…' as a number, Python crashed on '\u00b2', issue 22)", "limephone", lime,
            {"X-LimePhone-Signature": hmac_hex(LIME_SECRET, lime), "Content-Length": declared},
            {"hmac_sha256": [LIME_SECRET]})
    # Fetch's Headers (Workers) and most Python servers join a repeated header into one value;
    # node:http keeps both lines. The core reads a joined list of credentials as its lines, so
    # every runtime answers the same (issue 22).
    liso_body = dumps({"event_id": "e-joined-1", "event_type": "sms.sent", "data": {}})
    liso_creds = {"basic": [{"username": LISO_USER, "password": LISO_PASS}]}
    good, other = basic(LISO_USER, LISO_PASS), basic(LISO_USER, "a-guess")
    vec("common", "authorization_joined_two_credentials_is_ambiguous",
        "Two Authorization headers joined by Fetch into one value ('Basic a, Basic b'): ambiguous_header, "
        "as node:http's two lines are", "lisoloo", liso_body, {"Authorization": f"{good}, {other}"},
        liso_creds, "ambiguous_header")
    vec("common", "authorization_two_lines_is_ambiguous",
        "The same two Authorization headers as two lines (node:http's rawHeaders)", "lisoloo", liso_body,
        [["Authorization", good], ["Authorization", other]], liso_creds, "ambiguous_header")
    vec("common", "authorization_joined_same_credential_twice_is_one",
        "The same credential twice, joined ('Basic a, Basic a'): one credential, as two equal lines are",
        "lisoloo", liso_body, {"Authorization": f"{good}, {good}"}, liso_creds)
    dashboard = "Token loop-AUTH, version=2"
    loop_body = dumps({"contact": "+13231112233", "request_id": "r-joined", "webhook_id": "w-joined",
                       "result_v1": {}})
    vec("common", "authorization_with_a_comma_that_is_no_list_is_whole",
        "A LoopLookup dashboard value with a comma that is not a list of credentials is compared whole",
        "looplookup", loop_body, {"Authorization": dashboard, "User-Agent": "LoopServer"},
        {"authorization": dashboard})
    vec("common", "method_lowercase_post_is_post",
        "'post' is POST in every runtime, as the Fetch standard normalizes it before a Worker sees it",
        "limephone", lime, {"X-LimePhone-Signature": hmac_hex(LIME_SECRET, lime)}, {"hmac_sha256": [LIME_SECRET]},
        method="post")
    vec("common", "err_clock_in_milliseconds",
        "A clock in milliseconds is the receiver's misconfiguration (5xx, the provider retries), not a bad request",
        "lisoloo", body, {}, {"insecure_skip_verification": True}, "invalid_clock", now=NOW * 1000)
    gzip_vectors()
    deep = "[" * 10000 + "]" * 10000
    vec("common", "err_nested_10000_deep", "JSON nested 10 000 deep hits the recursion limit", "lisoloo", deep,
        {}, {"insecure_skip_verification": True}, "malformed_json")


def gzip_vectors():
    """Bodies sent with Content-Encoding: gzip. No provider here documents it; GetStream gzips its
    webhooks and signs the uncompressed JSON (GetStream/stream-chat-python#230), and Express's
    parsers inflate a body while leaving the header. mtime=0 keeps the bytes the same per run."""
    def gz(text):
        return base64.b64encode(gzip.compress(text.encode(), compresslevel=6, mtime=0)).decode()

    liso = dumps({"event_id": "e-gzip-1", "event_type": "sms.delivered", "timestamp": "2026-05-27T10:15:08Z",
                  "message_id": "m-gzip-1", "data": {"recipient_phone": "+4512345678"}})
    liso_headers = {"Content-Type": "application/json", "Content-Encoding": "gzip",
                    "Authorization": basic(LISO_USER, LISO_PASS)}
    liso_creds = {"basic": [{"username": LISO_USER, "password": LISO_PASS}]}
    vec("common", "gzip_body_basic_is_inflated",
        "A gzipped body of a provider that authenticates with Basic is inflated and read (read as sent, it "
        "was a 400 malformed_json, which Lisoloo drops)", "lisoloo", "", liso_headers, liso_creds,
        body_base64=gz(liso))
    vec("common", "gzip_body_detected_after_inflating",
        "No provider named: the inflated body is what detection reads", None, "", liso_headers,
        {"lisoloo": liso_creds}, body_base64=gz(liso))
    vec("common", "gzip_header_on_a_body_already_inflated",
        "Content-Encoding: gzip left in place by a parser that inflated the body (Express): read as it is",
        "lisoloo", liso, {**liso_headers, "Content-Encoding": "GZIP"}, liso_creds)
    lime = dumps({"event": "sms_received", "message_id": "msg-gzip-1", "from": "+4512345678",
                  "to": "+4587654321", "message_content": "hi", "timestamp": "2026-01-21T12:00:00Z"})
    vec("common", "gzip_body_signed_uncompressed",
        "A gzipped body signed over its uncompressed JSON (as GetStream signs) verifies", "limephone", "",
        {"Content-Encoding": "x-gzip", "X-LimePhone-Signature": hmac_hex(LIME_SECRET, lime)},
        {"hmac_sha256": [LIME_SECRET]}, body_base64=gz(lime))
    two_lines = [["Content-Type", "application/json"], ["Content-Encoding", "identity"],
                 ["Content-Encoding", "gzip"], ["Authorization", basic(LISO_USER, LISO_PASS)]]
    vec("common", "content_encoding_lines_that_differ_on_a_plain_body",
        "Two Content-Encoding lines that differ, on a body that is no gzip member: read as it is, not "
        "ambiguous_header (a 401, which Lisoloo drops; a review)", "lisoloo", liso, two_lines, liso_creds)
    vec("common", "content_encoding_lines_that_differ_on_a_gzipped_body",
        "Two Content-Encoding lines, one of them gzip, on a gzip member: inflated", "lisoloo", "", two_lines,
        liso_creds, body_base64=gz(liso))
    whole = base64.b64decode(gz(liso))
    vec("common", "err_gzip_body_truncated",
        "A gzipped body cut short: invalid_request naming the body, not a body read as garbage", "lisoloo", "",
        liso_headers, liso_creds, "invalid_request", body_base64=base64.b64encode(whole[:-6]).decode())
    vec("common", "err_gzip_body_two_members",
        "Two gzip members: refused, as readers that stop at the first would read another body", "lisoloo", "",
        liso_headers, liso_creds, "invalid_request", body_base64=base64.b64encode(whole + whole).decode())
    padded = dumps({"event_id": "e-gzip-2", "event_type": "sms.sent", "note": " " * 100000, "data": {}})
    vec("common", "err_gzip_body_inflates_past_the_cap",
        "A 100 KB body gzipped to a few hundred bytes, under a 64 KiB cap: body_too_large, inflating stops at "
        "the cap", "lisoloo", "", liso_headers, liso_creds, "body_too_large",
        options={"max_body_bytes": 65536}, body_base64=gz(padded))


def main():
    for build in (limephone, lisoloo, gatewayapi, looplookup, did_reseller, vonage, vonage_sms, telnyx, twilio,
                  common):
        build()
    out = sys.argv[1] if len(sys.argv) > 1 else HERE
    written = 0
    for key, vector in sorted(VECTORS.items()):
        blessed = os.path.join(HERE, key + ".json")
        path = os.path.join(out, key + ".json")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if "event" in vector["expect"] and os.path.exists(blessed):
            with open(blessed, encoding="utf-8") as f:
                old = json.load(f)
            same_input = {k: v for k, v in old.items() if k != "expect"} == \
                {k: v for k, v in vector.items() if k != "expect"}
            if same_input and old.get("expect", {}).get("event") is not None:
                vector["expect"] = old["expect"]
        text = json.dumps(vector, indent=2, ensure_ascii=False) + "\n"
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        written += 1
    stale = []
    for root, dirs, files in os.walk(HERE):
        dirs[:] = [d for d in dirs if d != "hostile"]  # generate_hostile.py writes those
        for name in files:
            if name.endswith(".json"):
                key = os.path.relpath(os.path.join(root, name), HERE)[:-5]
                if key not in VECTORS:
                    stale.append(key)
    errors = sum(1 for v in VECTORS.values() if "error" in v["expect"])
    print(f"wrote {written} vectors ({errors} expect an error)")
    if stale:
        print("not generated here (kept):", ", ".join(sorted(stale)), file=sys.stderr)


if __name__ == "__main__":
    main()
