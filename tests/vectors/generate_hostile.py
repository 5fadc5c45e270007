#!/usr/bin/env python3
"""Writes tests/vectors/hostile/*.json: hostile requests, each with the error code it must get.

Every request is built so that the one defect under test is the *first* thing telhook meets:
auth-level defects carry a well-formed body; body-level defects are correctly authenticated
(signed over the hostile bytes), so the parser — not the verifier — must refuse them. All
runtimes run these files (they are ordinary vectors): Rust, Node, workerd and Python.
core/tests/vectors.rs checks that the core's `sign` reproduces every signature made here
for a body it can sign.

Requests are signed by tests/signers.py, shared with generate.py and independent of the core.

Run: python3 tests/vectors/generate_hostile.py [OUT_DIR]  (default: tests/vectors/hostile)
"""
import base64
import json
import os
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "hostile")
sys.path.insert(0, os.path.dirname(HERE))
import signers  # noqa: E402  (tests/signers.py)
from signers import b64url  # noqa: E402
NOW = 1769000000

LIME = {"hmac_sha256": ["lime-whsec-CURRENT-5b1e"], "bearer": ["lime-bearer-TOKEN-9f8e"]}
LISO = {"basic": [{"username": "lisoloo-hook", "password": "liso-PASS-current-4411"}]}
GW = {"hmac_sha256": ["gwapi-HMAC-secret-31d7"], "jwt_hs256": ["gwapi-JWT-secret-c0ffee"]}
LOOP = {"authorization": ["Token loop-AUTH-dashboard-4b7c"]}
DID = {"url_token": ["did-URL-token-77aa"]}
DID_URL = "https://hooks.example.com/did?token=did-URL-token-77aa"
# Telnyx: the RFC 8032 TEST 1 key pair (test-only; the receiver holds the public key).
TELNYX_SEED = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
TELNYX = {"ed25519_public_key": [base64.b64encode(signers.ed25519_public(TELNYX_SEED)).decode()]}
CREDS = {"limephone": LIME, "lisoloo": LISO, "gatewayapi": GW, "looplookup": LOOP, "did_reseller": DID,
         "telnyx": TELNYX}

GOOD_BODY = {
    "limephone": '{"event":"incoming_call","call_id":"1","virtual_number":"+15551234567","caller_number":"+18887654321","timestamp":"2025-01-30T14:00:00Z"}',
    "lisoloo": '{"event_id":"e-1","event_type":"sms.sent","timestamp":"2026-05-27T10:15:08Z","message_id":"m","data":{"recipient_phone":"+4512345678"}}',
    "gatewayapi": '{"event_id":"g-1","timestamp":"2026-03-02T09:00:05Z","event_type":"message.status.sms","event":{"msg_id":"x","recipient":4512345678,"status":"DELIVERED","status_at":"2026-03-02T09:00:03Z"}}',
    "looplookup": '{"contact":"+13231112233","request_id":"r-1","webhook_id":"w-1"}',
    "did_reseller": '{"type":"update","schema":"dids","data":"{\\"id\\":1}"}',
    "telnyx": '{"data":{"event_type":"message.finalized","id":"1","occurred_at":"2026-01-21T12:50:06Z","payload":{"id":"m-1","to":[{"phone_number":"+18665550001","status":"delivered"}]},"record_type":"event"},"meta":{"attempt":1}}',
}

VECTORS = {}


hexmac = signers.hmac_hex


def jwt(claims, secret="gwapi-JWT-secret-c0ffee", header=None, raw_claims=None):
    return signers.jwt(secret, claims, header, raw_claims)


def auth_headers(provider, body):
    """Valid credentials for `body` (bytes) under the provider's scheme."""
    if provider == "limephone":
        return {"Authorization": "Bearer lime-bearer-TOKEN-9f8e", "X-LimePhone-Signature": hexmac("lime-whsec-CURRENT-5b1e", body)}
    if provider == "lisoloo":
        return {"Authorization": signers.basic("lisoloo-hook", "liso-PASS-current-4411")}
    if provider == "gatewayapi":
        return {"Signature": "v1=" + hexmac("gwapi-HMAC-secret-31d7", body)}
    if provider == "looplookup":
        return {"Authorization": "Token loop-AUTH-dashboard-4b7c"}
    if provider == "telnyx":
        return telnyx_headers(body)
    return {}


def telnyx_headers(body, timestamp=str(NOW), seed=TELNYX_SEED):
    """Ed25519 over '<timestamp>|<body>' (body bytes)."""
    signature = signers.ed25519_sign(seed, timestamp.encode() + b"|" + body)
    return {"telnyx-signature-ed25519": base64.b64encode(signature).decode(), "telnyx-timestamp": timestamp}


SHAPE_ERRORS = {"invalid_payload", "invalid_timestamp", "malformed_nested_json"}
SMALL_ORDER_KEY_ERROR = "invalid_credentials"


def add(name, description, provider, body, headers, credentials, error, url=None, method=None, options=None):
    body_bytes = body if isinstance(body, bytes) else body.encode("utf-8")
    request = {}
    if method:
        request["method"] = method
    if url is None and provider == "did_reseller":
        url = DID_URL
    if url:
        request["url"] = url
    request["headers"] = headers
    try:
        text = body_bytes.decode("utf-8")
        if "\r" in text or any(ord(c) < 0x20 and c not in "\n\t" for c in text):
            raise UnicodeDecodeError("utf-8", b"", 0, 1, "control")
        request["body"] = text
    except UnicodeDecodeError:
        request["body_base64"] = base64.b64encode(body_bytes).decode()
    vector = {"description": description, "provider": provider, "request": request,
              "credentials": credentials, "now": NOW}
    if options:
        vector["options"] = options
    # A shape error no longer exists (authenticity is the only gate): a verified body of any
    # shape is an event, blessed like the main set (TELHOOK_BLESS) and kept while its input
    # is unchanged.
    assert error not in SHAPE_ERRORS, f"{name}: a verified body is never refused for its shape"
    vector["expect"] = {"error": error} if error else {"event": None}
    assert name not in VECTORS, name
    VECTORS[name] = vector


def signed(provider, name, description, body, error, **kw):
    body_bytes = body if isinstance(body, bytes) else body.encode("utf-8")
    add(f"{provider}_{name}", description, provider, body_bytes, auth_headers(provider, body_bytes),
        CREDS[provider], error, **kw)


# ---------------------------------------------------------------- bodies, every provider
def bodies():
    for p, good in GOOD_BODY.items():
        for cut in (1, len(good) // 2, len(good) - 1):
            signed(p, f"truncated_at_{cut}", f"Body cut after {cut} bytes", good[:cut], "malformed_json")
        signed(p, "empty_body", "Empty body", "", "malformed_json")
        signed(p, "whitespace_body", "Whitespace only", "  \n\t ", "malformed_json")
        # RFC 8259 §8.1 lets a parser pass over one; .NET's Encoding.UTF8 writers put one there.
        signed(p, "bom_prefixed", "UTF-8 byte order mark before the JSON: passed over, an event",
               b"\xef\xbb\xbf" + good.encode(), None)
        signed(p, "bom_twice", "Two byte order marks before the JSON", b"\xef\xbb\xbf" * 2 + good.encode(), "malformed_json")
        signed(p, "invalid_utf8_in_string", "Invalid UTF-8 inside a string", good.encode().replace(b'"1"', b'"\xff\xfe"', 1)
               if b'"1"' in good.encode() else good.encode()[:-1] + b',"x":"\xc3\x28"}', "malformed_json")
        signed(p, "truncated_utf8", "A multi-byte sequence cut short at the end", good.encode()[:-2] + b'\xe2\x82', "malformed_json")
        # RFC 8259's grammar allows any \\u escape; JSON.stringify (ES2019) and json.dumps write a
        # lone surrogate so. Read as U+FFFD (core json_read); an escaped backslash before `u` is text.
        signed(p, "lone_surrogate_escape", "A lone UTF-16 surrogate escape: an event, the half read as U+FFFD",
               good[:-1] + ',"x":"\\ud800"}', None)
        signed(p, "lone_low_surrogate_escape", "A lone low surrogate escape, then a reversed pair",
               good[:-1] + ',"x":"\\udc00|\\ude00\\ud83d"}', None)
        signed(p, "escaped_backslash_then_u", "An escaped backslash then `ud800`: text, not an escape",
               good[:-1] + ',"x":"\\\\ud800"}', None)
        signed(p, "raw_control_char", "A raw control character in a string", good[:-1] + ',"x":"a\x01b"}', "malformed_json")
        signed(p, "nested_10000_arrays", "Arrays nested 10 000 deep", "[" * 10000 + "]" * 10000, "malformed_json")
        signed(p, "nested_200_in_field", "An object nested 200 deep inside an extra field",
               good[:-1] + ',"x":' + '{"a":' * 200 + "1" + "}" * 200 + "}", "malformed_json")
        signed(p, "trailing_garbage", "Valid JSON followed by garbage", good + "xyz", "malformed_json")
        signed(p, "two_documents", "Two JSON documents", good + good, "malformed_json")
        signed(p, "nan_literal", "NaN is not JSON", good[:-1] + ',"x":NaN}', "malformed_json")
        signed(p, "number_out_of_range", "1e400 overflows a double", good[:-1] + ',"x":1e400}', "malformed_json")
        signed(p, "smart_quotes", "Typographic quotes instead of JSON quotes",
               good.replace('"', "\u201c", 2), "malformed_json")
        signed(p, "single_quotes", "Single-quoted JSON", good.replace('"', "'"), "malformed_json")
        signed(p, "form_encoded", "A form-encoded body", "event=incoming_call&call_id=1", "malformed_json")
        for kind, doc in [("array", "[]"), ("string", '"hello"'), ("number", "42"), ("null", "null"), ("true", "true")]:
            signed(p, f"top_level_{kind}", f"A JSON {kind} instead of an object", doc, None)
        signed(p, "empty_object", "An empty object", "{}", None)


# ---------------------------------------------------------------- wrong shapes per provider
def shapes():
    lime = json.loads(GOOD_BODY["limephone"])
    for field, value, error in [
        ("event", 5, None), ("event", None, None), ("event", ["incoming_call"], None),
        ("call_id", {"id": 1}, None), ("call_id", -1, None), ("call_id", 1.5, None),
        ("caller_number", 18887654321, None), ("duration", -5, None),
        ("duration", 1e30, None), ("duration", "125", None),
        ("timestamp", "yesterday", None), ("timestamp", "2025-02-30T00:00:00Z", None),
        ("timestamp", "0000-01-01T00:00:00Z", None), ("timestamp", "10000-01-01T00:00:00Z", None),
        ("timestamp", -1, None), ("timestamp", 1e20, None),
        ("timestamp", 99999999999999, None), ("timestamp", True, None),
        ("timestamp", {"s": 1}, None), ("timestamp", "2025-01-30T25:00:00Z", None),
        ("timestamp", "2025-01-30T14:00:60Z", None),
    ]:
        body = dict(lime)
        if value is None:
            del body[field]
            name = f"without_{field}"
        else:
            body[field] = value
            name = f"{field}_{type(value).__name__}_{str(value)[:12]}".replace(" ", "_").replace(":", "").replace("-", "m").replace(".", "p").replace("{", "").replace("}", "").replace("'", "").replace("[", "").replace("]", "").replace(",", "")
        signed("limephone", name, f"{field} = {json.dumps(value)}", json.dumps(body), error)

    liso = json.loads(GOOD_BODY["lisoloo"])
    for name, mutate, error in [
        ("event_id_number", lambda b: b.update(event_id=7), None),
        ("event_type_null", lambda b: b.update(event_type=None), None),
        ("data_string", lambda b: b.update(data="recipient"), None),
        ("data_array", lambda b: b.update(data=[1]), None),
        ("recipient_phone_number", lambda b: b["data"].update(recipient_phone=4512345678), None),
        ("error_code_float", lambda b: b["data"].update(error_code=3.5), None),
        ("timestamp_out_of_range", lambda b: b.update(timestamp="1969-12-31T23:59:59Z"), None),
        ("timestamp_garbage", lambda b: b.update(timestamp="2026-05-27 10:15"), None),
        ("message_id_object", lambda b: b.update(message_id={}), None),
    ]:
        body = json.loads(json.dumps(liso))
        mutate(body)
        signed("lisoloo", name, name.replace("_", " "), json.dumps(body), error)

    gw = json.loads(GOOD_BODY["gatewayapi"])
    for name, mutate, error in [
        ("recipient_text", lambda b: b["event"].update(recipient="abc"), None),
        ("recipient_overflow", lambda b: b["event"].update(recipient=2**70), None),
        ("recipient_negative", lambda b: b["event"].update(recipient=-4512345678), None),
        ("event_not_object", lambda b: b.update(event="DELIVERED"), None),
        ("event_id_missing", lambda b: b.pop("event_id"), None),
        ("status_at_garbage", lambda b: b["event"].update(status_at="soon"), None),
        ("content_not_object", lambda b: b["event"].update(content="hi"), None),
    ]:
        body = json.loads(json.dumps(gw))
        mutate(body)
        signed("gatewayapi", name, name.replace("_", " "), json.dumps(body), error)
    for name, body, error in [
        ("dlr_msisdn_2pow64", '{"id":1,"msisdn":18446744073709551616,"status":"DELIVERED"}', None),
        ("dlr_msisdn_1e30", '{"id":1,"msisdn":1e30,"status":"DELIVERED"}', None),
        ("dlr_msisdn_text", '{"id":1,"msisdn":"+45 12 34","status":"DELIVERED"}', None),
        ("dlr_msisdn_empty", '{"id":1,"msisdn":"","status":"DELIVERED"}', None),
        ("dlr_id_missing", '{"msisdn":4512345678,"status":"DELIVERED"}', None),
        ("dlr_status_number", '{"id":1,"msisdn":4512345678,"status":4}', None),
        ("dlr_time_float", '{"id":1,"msisdn":4512345678,"status":"DELIVERED","time":1.5}', None),
        ("dlr_time_negative", '{"id":1,"msisdn":4512345678,"status":"DELIVERED","time":-60}', None),
        ("mo_msisdn_array", '{"id":1,"msisdn":[45],"message":"hi"}', None),
        ("mo_senttime_text", '{"id":1,"msisdn":4512345678,"message":"hi","senttime":"noon"}', None),
    ]:
        signed("gatewayapi", name, name.replace("_", " "), body, error)

    for name, body, error in [
        ("contact_number", '{"contact":13231112233,"request_id":"r"}', None),
        ("request_id_missing", '{"contact":"+13231112233"}', None),
        ("result_not_object", '{"contact":"+13231112233","request_id":"r","result_v1":"none"}', None),
        ("facetime_date_garbage", '{"contact":"+1","request_id":"r","result_v1":{"apple_services":{"facetime":{"status":"available","date":"12/13/2022"}}}}', None),
        ("imessage_date_number", '{"contact":"+1","request_id":"r","result_v1":{"apple_services":{"imessage":{"status":"available","date":20221212}}}}', None),
        ("carrier_array", '{"contact":"+1","request_id":"r","result_v1":{"carrier":["Verizon"]}}', None),
    ]:
        signed("looplookup", name, name.replace("_", " "), body, error)

    for name, data, error in [
        ("data_not_json", "{id: 1}", None),
        ("data_empty_string", "", None),
        ("data_truncated", '{"id": 1', None),
        ("data_nested_200", '{"a":' * 200 + "1" + "}" * 200, None),
        ("data_json_null", "null", None),
        ("data_json_number", "5", None),
        ("data_json_string", '"text"', None),
        ("data_json_array", "[1,2]", None),
        ("data_smart_quotes", "{\u201cid\u201d: 1}", None),
    ]:
        signed("did_reseller", name, f"data = {data[:30]!r}", json.dumps({"type": "update", "schema": "dids", "data": data}), error)
    for name, body, error in [
        ("data_number", '{"type":"update","schema":"dids","data":5}', None),
        ("data_bool", '{"type":"insert","schema":"dids","data":true}', None),
        ("type_number", '{"type":1,"schema":"dids","data":"{}"}', None),
        ("type_unknown", '{"type":"merge","schema":"dids","data":"{}"}', None),
        ("schema_missing", '{"type":"update","data":"{}"}', None),
        ("no_data_no_status", '{"type":"update","schema":"dids"}', None),
        ("status_not_error_without_data", '{"type":"update","schema":"dids","status":"ok"}', None),
        ("verbose_number", '{"type":"update","schema":"sms_enablement","status":"error","verbose":5}', None),
    ]:
        signed("did_reseller", name, name.replace("_", " "), body, error)


# ---------------------------------------------------------------- signatures and credentials
def auth():
    good = GOOD_BODY["limephone"].encode()
    sig = hexmac("lime-whsec-CURRENT-5b1e", good)
    bearer = "Bearer lime-bearer-TOKEN-9f8e"
    for name, value, error in [
        ("sig_63_hex", sig[:63], "invalid_signature_format"), ("sig_65_hex", sig + "a", "invalid_signature_format"),
        ("sig_non_hex", "zz" * 32, "invalid_signature_format"), ("sig_only_spaces", "   ", "invalid_signature_format"),
        ("sig_sha256_prefix", "sha256=" + sig, "invalid_signature_format"),
        ("sig_base64_31_bytes", base64.b64encode(b"\x01" * 31).decode(), "invalid_signature_format"),
        ("sig_base64_33_bytes", base64.b64encode(b"\x01" * 33).decode(), "invalid_signature_format"),
        ("sig_10k_chars", "a" * 10000, "invalid_signature_format"), ("sig_unicode", "\u00e9" * 32, "invalid_signature_format"),
        ("sig_all_zero", "0" * 64, "signature_mismatch"), ("sig_flipped_bit", sig[:-1] + ("0" if sig[-1] != "0" else "1"), "signature_mismatch"),
        ("sig_of_empty_body", hexmac("lime-whsec-CURRENT-5b1e", b""), "signature_mismatch"),
        ("sig_empty_key", hexmac("", good), "signature_mismatch"),
    ]:
        add(f"limephone_{name}", f"X-LimePhone-Signature: {name}", "limephone", good,
            {"Authorization": bearer, "X-LimePhone-Signature": value}, LIME, error)
    for name, value, error in [
        ("bearer_scheme_only", "Bearer", "invalid_authorization_format"), ("bearer_empty_token", "Bearer    ", "invalid_authorization_format"),
        ("basic_instead", "Basic bGltZTp0b2tlbg==", "invalid_authorization_format"),
        ("token_without_scheme", "lime-bearer-TOKEN-9f8e", "invalid_authorization_format"),
        ("token_prefix", "Bearer lime-bearer-TOKEN", "authorization_mismatch"),
        ("token_suffix", "Bearer lime-bearer-TOKEN-9f8e0", "authorization_mismatch"),
        ("token_case", "Bearer LIME-BEARER-TOKEN-9F8E", "authorization_mismatch"),
    ]:
        add(f"limephone_{name}", f"Authorization: {name}", "limephone", good,
            {"Authorization": value, "X-LimePhone-Signature": sig}, LIME, error)
    add("limephone_conflicting_authorization", "Two Authorization headers with different values", "limephone", good,
        [["Authorization", bearer], ["Authorization", "Bearer other"], ["X-LimePhone-Signature", sig]], LIME, "ambiguous_header")
    add("limephone_conflicting_signature_case", "Signature header twice, names differing in case", "limephone", good,
        [["Authorization", bearer], ["X-LimePhone-Signature", sig], ["x-limephone-SIGNATURE", "0" * 64]], LIME, "ambiguous_header")

    liso = GOOD_BODY["lisoloo"]
    for name, value, error in [
        ("basic_bad_base64", "Basic !!!!", "invalid_authorization_format"),
        ("basic_padding_only", "Basic ====", "invalid_authorization_format"),
        ("basic_scheme_only", "Basic", "invalid_authorization_format"),
        ("basic_no_colon", "Basic " + base64.b64encode(b"lisoloo-hookliso-PASS-current-4411").decode(), "invalid_authorization_format"),
        ("basic_empty_password", "Basic " + base64.b64encode(b"lisoloo-hook:").decode(), "authorization_mismatch"),
        ("basic_empty_username", "Basic " + base64.b64encode(b":liso-PASS-current-4411").decode(), "authorization_mismatch"),
        ("basic_swapped", "Basic " + base64.b64encode(b"liso-PASS-current-4411:lisoloo-hook").decode(), "authorization_mismatch"),
        ("basic_invalid_utf8", "Basic " + base64.b64encode(b"\xff\xfe:\xff").decode(), "authorization_mismatch"),
        ("basic_extra_colon", "Basic " + base64.b64encode(b"lisoloo-hook:liso-PASS-current-4411:").decode(), "authorization_mismatch"),
        ("digest_scheme", 'Digest username="lisoloo-hook"', "invalid_authorization_format"),
    ]:
        add(f"lisoloo_{name}", f"Authorization: {name}", "lisoloo", liso, {"Authorization": value}, LISO, error)

    gw = GOOD_BODY["gatewayapi"].encode()
    gsig = hexmac("gwapi-HMAC-secret-31d7", gw)
    for name, value, error in [
        ("v1_alone", "v1=", "invalid_signature_format"), ("v2_only", "v2=" + gsig, "invalid_signature_format"),
        ("v1_short", "v1=" + gsig[:40], "invalid_signature_format"), ("v1_uppercase_key", "V1=" + gsig, "invalid_signature_format"),
        ("v1_wrong_then_garbled", "v1=" + "0" * 64 + ",v1=zz", "signature_mismatch"),
        ("comma_only", ",,,", "invalid_signature_format"), ("empty_value", "", "invalid_signature_format"),
        ("v1_flipped", "v1=" + gsig[:-1] + ("0" if gsig[-1] != "0" else "1"), "signature_mismatch"),
    ]:
        add(f"gatewayapi_{name}", f"Signature: {name}", "gatewayapi", gw, {"Signature": value}, GW, error)

    dlr = {"id": 1, "msisdn": 4512345678, "status": "DELIVERED", "time": 1740905403}
    body = json.dumps(dlr)
    for name, token, error in [
        ("jwt_alg_none", jwt(dlr, header={"alg": "none"}).rsplit(".", 1)[0] + ".", "jwt_algorithm_not_allowed"),
        ("jwt_alg_None_case", jwt(dlr, header={"alg": "None"}), "jwt_algorithm_not_allowed"),
        ("jwt_alg_lowercase", jwt(dlr, header={"alg": "hs256"}), "jwt_algorithm_not_allowed"),
        ("jwt_alg_rs256", jwt(dlr, header={"alg": "RS256"}), "jwt_algorithm_not_allowed"),
        ("jwt_alg_es256", jwt(dlr, header={"alg": "ES256"}), "jwt_algorithm_not_allowed"),
        ("jwt_alg_hs512_with_hs256_signature", jwt(dlr, header={"alg": "HS512"}), "jwt_malformed"),
        ("jwt_alg_number", jwt(dlr, header={"alg": 256}), "jwt_algorithm_not_allowed"),
        ("jwt_no_alg", jwt(dlr, header={"typ": "JWT"}), "jwt_malformed"),
        ("jwt_header_not_json", jwt(dlr, header=b"not json"), "jwt_malformed"),
        ("jwt_claims_not_json", jwt(None, raw_claims=b"{nope"), "jwt_malformed"),
        ("jwt_claims_array", jwt(None, raw_claims=b"[1,2]"), "jwt_malformed"),
        ("jwt_two_parts", "e30.e30", "jwt_malformed"), ("jwt_four_parts", jwt(dlr) + ".x", "jwt_malformed"),
        ("jwt_empty_parts", "..", "jwt_malformed"), ("jwt_empty", "", "jwt_malformed"),
        ("jwt_sig_not_base64", jwt(dlr).rsplit(".", 1)[0] + ".!!!!", "jwt_malformed"),
        ("jwt_sig_short", jwt(dlr).rsplit(".", 1)[0] + "." + b64url(b"\x01" * 31), "jwt_malformed"),
        ("jwt_wrong_secret", jwt(dlr, secret="guess"), "signature_mismatch"),
        ("jwt_tampered_claims", jwt(dlr).split(".")[0] + "." + b64url(json.dumps(dict(dlr, status="READ")).encode()) + "." + jwt(dlr).split(".")[2], "signature_mismatch"),
        ("jwt_expired", jwt(dict(dlr, exp=NOW)), "jwt_expired"),
        ("jwt_not_yet_valid", jwt(dict(dlr, nbf=NOW + 3600)), "jwt_not_yet_valid"),
        ("jwt_exp_text", jwt(dict(dlr, exp="tomorrow")), "jwt_malformed"),
        ("jwt_claims_subset", jwt({"id": 1}), "jwt_payload_mismatch"),
        ("jwt_claims_differ", jwt(dict(dlr, status="EXPIRED")), "jwt_payload_mismatch"),
        ("jwt_claims_type_differ", jwt(dict(dlr, msisdn="4512345678")), "jwt_payload_mismatch"),
    ]:
        add(f"gatewayapi_{name}", f"X-Gwapi-Signature: {name}", "gatewayapi", body, {"X-Gwapi-Signature": token}, GW, error)
    # The event is read from the claims: a body that repeats part of them is the claims' event,
    # with the key of the body the token was made for (gatewayapi:dlr:1:4512345678:DELIVERED).
    add("gatewayapi_jwt_body_without_its_id", "A valid JWT of a DLR, the body without its id (re-spaced): "
        "the claims' event, its key from their id", "gatewayapi",
        json.dumps({k: v for k, v in dlr.items() if k != "id"}, indent=1), {"X-Gwapi-Signature": jwt(dlr)}, GW, None)
    # Claims that identify nothing: the key is the SHA-256 of the claims the token signs, so
    # both spellings of the body are one event (keyed by the body's bytes, each was a new one).
    idless = {"note": "x", "iat": NOW - 5}
    for name, spelled in [("compact", '{"note":"x"}'), ("spaced", '{ "note" : "\u0078" }')]:
        add(f"gatewayapi_jwt_claims_without_ids_body_{name}", "Claims with no id, the body spelled "
            f"{name}: keyed by the claims", "gatewayapi", spelled, {"X-Gwapi-Signature": jwt(idless)}, GW, None)
    # The same with the credentials per provider, GatewayAPI detected (found in review: the
    # event was read from the body there).
    add("gatewayapi_jwt_body_without_its_id_detected", "A valid JWT of a DLR, the body without its id, "
        "credentials per provider, no provider named: the claims' event", None,
        json.dumps({k: v for k, v in dlr.items() if k != "id"}, indent=1), {"X-Gwapi-Signature": jwt(dlr)},
        {"gatewayapi": GW}, None)
    add("gatewayapi_jwt_body_leaves_out_a_claim", "A valid JWT of a DLR with userref, the body without it: "
        "the claims' event, userref in raw", "gatewayapi", body,
        {"X-Gwapi-Signature": jwt(dict(dlr, userref="r-1"))}, GW, None)
    add("gatewayapi_jwt_registered_claims_left_out", "A JWT with iss, iat, exp and jti beside the DLR; "
        "the body only the DLR", "gatewayapi", body,
        {"X-Gwapi-Signature": jwt(dict(dlr, iss="gatewayapi", iat=NOW - 5, exp=NOW + 300, jti="j-1"))}, GW, None)
    add("gatewayapi_jwt_empty_body", "A valid JWT with an empty body", "gatewayapi", "", {"X-Gwapi-Signature": jwt(dlr)}, GW, "malformed_json")
    add("gatewayapi_jwt_empty_object_body", "A valid JWT of {} with body {}", "gatewayapi", "{}", {"X-Gwapi-Signature": jwt({})}, GW, "jwt_payload_mismatch")

    loop = GOOD_BODY["looplookup"]
    for name, value, error in [
        ("auth_empty", "", "invalid_authorization_format"), ("auth_scheme_only", "Token", "authorization_mismatch"),
        ("auth_case", "token loop-auth-dashboard-4b7c", "authorization_mismatch"),
        ("auth_longer", "Token loop-AUTH-dashboard-4b7c-extra", "authorization_mismatch"),
        ("auth_bearer_of_value", "Bearer loop-AUTH-dashboard-4b7c", "authorization_mismatch"),
    ]:
        add(f"looplookup_{name}", f"Authorization: {name}", "looplookup", loop,
            {"Authorization": value, "User-Agent": "LoopServer"}, LOOP, error)

    did = GOOD_BODY["did_reseller"]
    for name, url, error in [
        ("token_empty", "https://h.example/did?token=", "invalid_authorization_format"),
        ("token_in_fragment_only", "https://h.example/did#token=did-URL-token-77aa", "missing_authorization"),
        ("token_percent_encoded_wrong", "https://h.example/did?token=did%2DURL%2Dtoken%2D77ab", "authorization_mismatch"),
        ("token_other_param", "https://h.example/did?tok=did-URL-token-77aa", "missing_authorization"),
        ("token_twice_conflicting", "https://h.example/did?token=did-URL-token-77aa&token=x", "ambiguous_header"),
        ("token_case", "https://h.example/did?token=DID-URL-TOKEN-77AA", "authorization_mismatch"),
        ("token_invalid_percent", "https://h.example/did?token=%ZZ", "authorization_mismatch"),
        ("no_query_no_basic", "/did", "missing_authorization"),
        # A server never receives a fragment, so a token behind `#` was never sent to it.
        ("token_after_fragment", "https://h.example/did#x?token=did-URL-token-77aa", "missing_authorization"),
    ]:
        add(f"did_reseller_{name}", f"URL {url}", "did_reseller", did, {}, DID, error, url=url)
    # Only percent-decoding applies to the token: `+` is a plus, not the HTML-form space.
    add("did_reseller_token_plus_is_not_space", "URL token with + against a configured token with spaces",
        "did_reseller", did, {}, {"url_token": ["did URL token 77aa"]}, "authorization_mismatch",
        url="https://h.example/did?token=did+URL+token+77aa")

    # Credentials that must be refused, whatever the request.
    for p, good in GOOD_BODY.items():
        body = good.encode()
        add(f"{p}_credentials_null", "No credentials at all", p, body, auth_headers(p, body), None, "missing_credentials")
        add(f"{p}_credentials_empty_object", "An empty credentials object", p, body, auth_headers(p, body), {}, "missing_credentials")
        add(f"{p}_credentials_unknown_key", "A misspelt credentials key", p, body, auth_headers(p, body),
            {"hmac_secret": "x"}, "invalid_credentials")
        add(f"{p}_credentials_number", "Credentials of the wrong JSON type", p, body, auth_headers(p, body), 5, "invalid_credentials")
        add(f"{p}_credentials_other_provider_scheme", "Only a scheme this provider does not use", p, body,
            auth_headers(p, body), {"jwt_hs256": "x"} if p != "gatewayapi" else {"bearer": "x"}, "missing_credentials")
    for field in ["hmac_sha256", "bearer", "authorization", "jwt_hs256", "url_token"]:
        add(f"empty_secret_{field}", f"An empty {field} secret", "limephone", GOOD_BODY["limephone"],
            auth_headers("limephone", GOOD_BODY["limephone"].encode()), {**LIME, field: ["ok-secret", ""]}, "invalid_credentials")
    # A list given empty is an unset variable split into a list: read as "not configured" it
    # switched that scheme's check off while the other configured ones still verified.
    for field, empty in [("hmac_sha256", {"hmac_sha256": []}), ("bearer", {"bearer": []}),
                         ("authorization", {"authorization": []}), ("basic", {"basic": []}),
                         ("jwt_hs256", {"jwt_hs256": []}), ("signature_secret", {"signature_secret": []}),
                         ("url_token", {"url_token": []}), ("ed25519_public_key", {"ed25519_public_key": []}),
                         ("auth_token", {"auth_token": []}), ("shared_key", {"shared_key": []})]:
        add(f"empty_list_{field}", f"{field} given as an empty list beside configured secrets", "limephone",
            GOOD_BODY["limephone"], auth_headers("limephone", GOOD_BODY["limephone"].encode()), {**LIME, **empty},
            "invalid_credentials")
    # A header-borne secret that no header can carry (a line break inside it, two variables
    # joined), or a bearer token pasted with its header's "Bearer ": no delivery could match.
    for name, field, value in [("bearer_line_break", "bearer", "lime-bearer\nTOKEN-9f8e"),
                               ("authorization_nul", "authorization", "Token loop\u0000AUTH"),
                               ("bearer_with_its_prefix", "bearer", "Bearer lime-bearer-TOKEN-9f8e")]:
        add(f"unsendable_{name}", f"{field} that no delivery could carry or match", "limephone",
            GOOD_BODY["limephone"], auth_headers("limephone", GOOD_BODY["limephone"].encode()),
            {**LIME, field: value}, "invalid_credentials")
    add("empty_list_per_provider", "An empty list in a provider's own credentials", "limephone", GOOD_BODY["limephone"],
        auth_headers("limephone", GOOD_BODY["limephone"].encode()), {"limephone": {**LIME, "url_token": []}},
        "invalid_credentials")
    # A query parameter name or public URL read with its line's end (a file, a `.env` value)
    # names nothing a provider sends: every genuine delivery would be refused as forged.
    for suffix, name in [("empty", ""), ("line_end", "token\n"), ("ampersand", "a&b")]:
        add(f"url_token_param_{suffix}", "A url_token_param that names no query parameter", "limephone",
            GOOD_BODY["limephone"], auth_headers("limephone", GOOD_BODY["limephone"].encode()),
            {**LIME, "url_token": "ok-secret", "url_token_param": name}, "invalid_credentials")
    add("public_url_line_end", "A public_url read with its line's end", "limephone", GOOD_BODY["limephone"],
        auth_headers("limephone", GOOD_BODY["limephone"].encode()), LIME, "invalid_option",
        options={"public_url": "https://hooks.example.com/sms\n"})
    add("empty_basic_password", "An empty Basic password", "lisoloo", GOOD_BODY["lisoloo"], auth_headers("lisoloo", b""),
        {"basic": [{"username": "u", "password": ""}]}, "invalid_credentials")
    # A blank value is an unset environment variable padded by a template: refused like an empty one.
    for field in ["hmac_sha256", "bearer", "authorization", "jwt_hs256", "url_token"]:
        add(f"blank_secret_{field}", f"A whitespace-only {field} secret", "limephone", GOOD_BODY["limephone"],
            auth_headers("limephone", GOOD_BODY["limephone"].encode()), {**LIME, field: ["ok-secret", " \t\n"]},
            "invalid_credentials")
    add("blank_basic_password", "A whitespace-only Basic password", "lisoloo", GOOD_BODY["lisoloo"],
        auth_headers("lisoloo", b""), {"basic": [{"username": "u", "password": "  "}]}, "invalid_credentials")
    add("blank_basic_username", "A whitespace-only Basic username", "lisoloo", GOOD_BODY["lisoloo"],
        auth_headers("lisoloo", b""), {"basic": [{"username": " ", "password": "p"}]}, "invalid_credentials")
    # A secret read with its line's end (`echo secret | base64`, a file read whole) would fail
    # every delivery, and Lisoloo drops each one refused: refused where it is configured.
    for field, padded in [("hmac_sha256", "ok-secret\n"), ("bearer", " ok-secret"), ("url_token", "ok-secret\r\n"),
                          ("jwt_hs256", "ok-secret\t")]:
        add(f"padded_secret_{field}", f"A {field} secret with whitespace at an end", "limephone", GOOD_BODY["limephone"],
            auth_headers("limephone", GOOD_BODY["limephone"].encode()), {**LIME, field: ["ok-secret", padded]},
            "invalid_credentials")
    add("padded_basic_password", "A Basic password with a trailing newline", "lisoloo", GOOD_BODY["lisoloo"],
        auth_headers("lisoloo", b""), {"basic": [{"username": "u", "password": "p\n"}]}, "invalid_credentials")
    add("padded_basic_username", "A Basic username with a trailing newline", "lisoloo", GOOD_BODY["lisoloo"],
        auth_headers("lisoloo", b""), {"basic": [{"username": "u\n", "password": "p"}]}, "invalid_credentials")
    # RFC 7617: a user-id with a colon can never match (the first colon ends it).
    add("basic_username_with_colon", "A Basic username containing ':'", "lisoloo", GOOD_BODY["lisoloo"],
        auth_headers("lisoloo", b""), {"basic": [{"username": "u:x", "password": "p"}]}, "invalid_credentials")


# ---------------------------------------------------------------- issue 12
def signature_lists():
    """A header may list several signatures (rotation); the list is capped before any HMAC."""
    gw = GOOD_BODY["gatewayapi"].encode()
    valid = "v1=" + hexmac("gwapi-HMAC-secret-31d7", gw)
    others = ["v1=" + hexmac(f"not-the-secret-{i}", gw) for i in range(340)]
    for name, entries in [
        ("signature_9_entries_last_valid", others[:8] + [valid]),
        ("signature_340_entries", others),
        ("signature_valid_padded_with_v0", ["v0=" + "0" * 64] * 8 + [valid]),
        ("signature_9_entries_space_separated", others[:8] + [valid]),
    ]:
        separator = " " if "space" in name else ","
        add(f"gatewayapi_{name}", f"Signature lists {len(entries)} entries: over the cap of 8", "gatewayapi", gw,
            {"Signature": separator.join(entries)}, GW, "too_many_signatures")


def jwt_coverage():
    """The legacy JWT signs its claims, not the body: every body field must be a claim of equal value."""
    claims = {"id": 1, "msisdn": 4512345678, "status": "DELIVERED", "time": 1740905403, "userref": "order-1"}
    token = jwt(claims)
    without_userref = {k: v for k, v in claims.items() if k != "userref"}
    for name, body, token_for_body in [
        ("jwt_body_field_not_in_claims", json.dumps(claims), jwt(without_userref)),
        ("jwt_body_repeats_a_key", json.dumps(claims)[:-1] + ', "userref": "order-1"}', token),
        ("jwt_body_repeated_key_first_differs",
         '{"id": 1, "msisdn": 4512345678, "status": "DELIVERED", "time": 1740905403, "userref": "order-666", "userref": "order-1"}', token),
        ("jwt_body_number_beyond_double_precision",
         json.dumps(claims)[:-1] + ', "country_prefix": 45000000000000000000002}',
         jwt(None, raw_claims=(json.dumps(claims)[:-1] + ', "country_prefix": 45000000000000000000001}').encode())),
        ("jwt_body_nested_repeated_key",
         json.dumps(claims)[:-1] + ', "extra": {"a": 2, "a": 1}}', jwt(dict(claims, extra={"a": 1}))),
        ("jwt_body_nested_field_not_in_claims",
         json.dumps(dict(claims, extra={"a": 1, "b": 2})), jwt(dict(claims, extra={"a": 1}))),
        ("jwt_body_array_longer", json.dumps(dict(claims, tags=[1, 2, 3])), jwt(dict(claims, tags=[1, 2]))),
    ]:
        add(f"gatewayapi_{name}", name.replace("_", " "), "gatewayapi", body, {"X-Gwapi-Signature": token_for_body}, GW,
            "jwt_payload_mismatch")
    # An MO text cut inside an emoji, escaped by json.dumps in the body and the claims alike: authentic,
    # an event (the half read as U+FFFD); a body that changes the text is still refused.
    cut = dict(claims, message="See you \ud83d")
    add("gatewayapi_jwt_lone_surrogate_in_body_and_claims", "An escaped lone surrogate in the body and the claims",
        "gatewayapi", json.dumps(cut), {"X-Gwapi-Signature": jwt(cut)}, GW, None)
    add("gatewayapi_jwt_bom_prefixed", "A byte order mark before a body the JWT's claims carry: read past, as in HMAC mode",
        "gatewayapi", b"\xef\xbb\xbf" + json.dumps(claims).encode(), {"X-Gwapi-Signature": jwt(claims)}, GW, None)
    add("gatewayapi_jwt_lone_surrogate_text_changed", "The claims' text cut inside an emoji, the body's not",
        "gatewayapi", json.dumps(dict(claims, message="See you \U0001F600")), {"X-Gwapi-Signature": jwt(cut)}, GW,
        "jwt_payload_mismatch")


def cross_provider():
    """A request verified for one provider is never accepted as another (whose key would differ)."""
    gw = GOOD_BODY["gatewayapi"].encode()
    shared = "gwapi-HMAC-secret-31d7"  # the same secret configured for two providers
    hexsig = hexmac(shared, gw)
    both = {"gatewayapi": {"hmac_sha256": [shared]}, "lisoloo": {"hmac_sha256": [shared]}}
    add("cross_gatewayapi_replayed_as_lisoloo_detected",
        "A captured GatewayAPI request, its hex moved to X-Lisoloo-Signature; provider detected", None, gw,
        {"X-Lisoloo-Signature": hexsig}, both, "ambiguous_provider")
    add("cross_gatewayapi_replayed_as_lisoloo_named",
        "The same replay sent to a Lisoloo endpoint configured with the same secret", "lisoloo", gw,
        {"X-Lisoloo-Signature": hexsig}, {"hmac_sha256": [shared]}, "ambiguous_provider")
    add("cross_two_providers_signature_headers", "Signature v1= and X-Lisoloo-Signature on one request", None, gw,
        {"Signature": "v1=" + hexsig, "X-Lisoloo-Signature": hexsig}, both, "ambiguous_provider")
    add("cross_named_with_other_provider_header", "A GatewayAPI endpoint; the request also carries X-LimePhone-Signature",
        "gatewayapi", gw, {"Signature": "v1=" + hexsig, "X-LimePhone-Signature": hexsig}, GW, "ambiguous_provider")
    two_shapes = '{"event_id":"e-2","event_type":"sms.sent","msisdn":4512345678,"status":"DELIVERED"}'
    add("cross_detected_body_of_two_shapes", "No provider named; the body has the Lisoloo envelope and a GatewayAPI msisdn",
        None, two_shapes, auth_headers("lisoloo", two_shapes.encode()), {"lisoloo": LISO, "gatewayapi": GW},
        "ambiguous_provider")
    add("cross_named_body_of_two_shapes", "A Lisoloo endpoint; the body also has a GatewayAPI shape", "lisoloo",
        two_shapes, auth_headers("lisoloo", two_shapes.encode()), LISO, "ambiguous_provider")
    add("cross_detect_with_one_shared_pool", "Detection with one credential pool for every provider", None, gw,
        {"Signature": "v1=" + hexsig}, {"hmac_sha256": [shared], "basic": LISO["basic"]}, "invalid_credentials")
    # A reviewer's app pooled several providers' secrets in one flat set. Lisoloo then required
    # LimePhone's signature, which it never sends, and answered 401 (Lisoloo drops on any 4xx).
    lisoloo_body = GOOD_BODY["lisoloo"].encode()
    add("lisoloo_credentials_pooled_with_another_providers",
        "Lisoloo's genuine Basic-signed delivery with one flat set of credentials pooling another provider's "
        "secrets: refused as invalid_credentials (a 500 the provider retries), never 401 missing_signature, "
        "which Lisoloo drops", "lisoloo", lisoloo_body, auth_headers("lisoloo", lisoloo_body),
        {**LISO, "hmac_sha256": ["lime-hmac-secret"], "bearer": ["lime-bearer-token"]}, "invalid_credentials")
    # The signature Lisoloo has announced, configured before Lisoloo sends it: its genuine
    # deliveries prove themselves by Basic, so the missing header is the receiver's mistake (a
    # 500, retried), not a forgery (a 401, which Lisoloo takes as "drop the event").
    ahead = {**LISO, "hmac_sha256": ["liso-future-HMAC-secret"]}
    add("lisoloo_signature_configured_before_lisoloo_sends_it",
        "Lisoloo's genuine Basic-authenticated delivery while hmac_sha256 is configured ahead of the announced "
        "X-Lisoloo-Signature: invalid_credentials (a 500 Lisoloo retries), never 401 missing_signature (dropped)",
        "lisoloo", lisoloo_body, auth_headers("lisoloo", lisoloo_body), ahead, "invalid_credentials")
    add("lisoloo_signature_configured_wrong_basic_and_no_signature",
        "The same receiver; a request with a wrong Basic password and no signature proves nothing: missing_signature",
        "lisoloo", lisoloo_body, {"Authorization": "Basic " + base64.b64encode(b"lisoloo-hook:guess").decode()},
        ahead, "missing_signature")
    add("cross_detect_provider_without_entry", "Detected GatewayAPI; credentials only for Lisoloo", None, gw,
        {"Signature": "v1=" + hexsig}, {"lisoloo": LISO}, "missing_credentials")
    for name, credentials in [
        ("unknown_provider_key", {"sinch": {"hmac_sha256": "x-secret"}}),
        ("mixed_forms", {"hmac_sha256": "x-secret", "gatewayapi": GW}),
        ("provider_entry_per_provider", {"gatewayapi": {"lisoloo": LISO}}),
        ("provider_entry_empty_secret", {"gatewayapi": {"hmac_sha256": [""]}, "lisoloo": LISO}),
    ]:
        add(f"cross_credentials_{name}", f"Per-provider credentials: {name.replace('_', ' ')}", None, gw,
            {"Signature": "v1=" + hexsig}, credentials, "invalid_credentials")


def telnyx_auth():
    """Every wrong shape of Telnyx's two headers; the signature never verifies a changed byte."""
    good = GOOD_BODY["telnyx"].encode()
    headers = telnyx_headers(good)
    signature = headers["telnyx-signature-ed25519"]
    raw = base64.b64decode(signature)
    wrong_signatures = [
        ("signature_unpadded", signature.rstrip("="), "invalid_signature_format"),
        ("signature_base64url", base64.urlsafe_b64encode(raw).decode(), "invalid_signature_format"),
        ("signature_hex", raw.hex(), "invalid_signature_format"),
        ("signature_63_bytes", base64.b64encode(raw[:63]).decode(), "invalid_signature_format"),
        ("signature_65_bytes", base64.b64encode(raw + b"\x00").decode(), "invalid_signature_format"),
        ("signature_v1_prefixed", "v1," + signature, "invalid_signature_format"),
        ("signature_all_ff", base64.b64encode(b"\xff" * 64).decode(), "signature_mismatch"),
        ("signature_s_not_reduced", base64.b64encode(raw[:32] + (int.from_bytes(raw[32:], "little") + 2 ** 252
                                                                 + 27742317777372353535851937790883648493)
                                                    .to_bytes(32, "little")).decode(), "signature_mismatch"),
    ]
    for name, value, error in wrong_signatures:
        add(f"telnyx_{name}", f"telnyx-signature-ed25519: {name.replace('_', ' ')}", "telnyx", good,
            dict(headers, **{"telnyx-signature-ed25519": value}), TELNYX, error)
    for name, value, error in [
        ("negative", "-" + str(NOW), "invalid_signature_format"),
        ("plus_sign", "+" + str(NOW), "invalid_signature_format"),
        ("hex", hex(NOW), "invalid_signature_format"),
        ("exponent", "1.769e9", "invalid_signature_format"),
        ("rfc3339", "2026-01-21T12:53:20Z", "invalid_signature_format"),
        ("nineteen_digits", "9" * 19, "invalid_signature_format"),
        ("zero", "0", "timestamp_out_of_tolerance"),
        ("leading_zeros", "000" + str(NOW), None),
    ]:
        signed_headers = telnyx_headers(good, timestamp=value)
        add(f"telnyx_timestamp_{name}", f"telnyx-timestamp {name.replace('_', ' ')}, correctly signed", "telnyx",
            good, signed_headers, TELNYX, error)
    add("telnyx_two_different_signatures", "telnyx-signature-ed25519 twice with different values", "telnyx", good,
        [["telnyx-signature-ed25519", signature], ["telnyx-signature-ed25519", base64.b64encode(b"\x01" * 64).decode()],
         ["telnyx-timestamp", str(NOW)]], TELNYX, "ambiguous_header")
    add("telnyx_two_different_timestamps", "telnyx-timestamp twice with different values", "telnyx", good,
        [["telnyx-signature-ed25519", signature], ["telnyx-timestamp", str(NOW)], ["telnyx-timestamp", str(NOW - 1)]],
        TELNYX, "ambiguous_header")
    small_order = base64.b64encode(bytes(32)).decode()  # y = 0: a point of order 4
    add("telnyx_small_order_public_key", "A configured public key of small order is refused where it is "
        "configured, or at the latest by strict verification", "telnyx", good, headers,
        {"ed25519_public_key": [small_order]}, SMALL_ORDER_KEY_ERROR)
    add("telnyx_headers_on_a_lisoloo_endpoint", "A signed Telnyx request sent to a Lisoloo endpoint", "lisoloo",
        good, dict(headers, Authorization=signers.basic("lisoloo-hook", "liso-PASS-current-4411")), LISO,
        "ambiguous_provider")
    add("telnyx_body_detected_with_another_providers_key", "Detected as Telnyx; only GatewayAPI credentials",
        None, good, headers, {"gatewayapi": GW}, "missing_credentials")


# ---------------------------------------------------------------- request level
def requests():
    for p, good in GOOD_BODY.items():
        body = good.encode()
        add(f"{p}_body_over_limit", "A body one byte over a configured limit", p, body, auth_headers(p, body), CREDS[p],
            "body_too_large", options={"max_body_bytes": len(body) - 1})
        add(f"{p}_declared_100mb", "Content-Length declares 100 MB", p, body,
            {**auth_headers(p, body), "Content-Length": str(100 * 1024 * 1024)}, CREDS[p], "body_too_large")
        for method in ("GET", "PUT", "DELETE"):
            add(f"{p}_method_{method.lower()}", f"{method} instead of POST", p, body, auth_headers(p, body), CREDS[p],
                "method_not_allowed", method=method)
    for name in ["", "LimePhone2", "gateway api", "null", "did reseller", "loop_lookup_v2", "\u00e9"]:
        slug = name.encode().hex() or "empty"
        add(f"unknown_provider_{slug}", f"Provider name {name!r}", name, GOOD_BODY["limephone"], {}, LIME, "unknown_provider")
    for name, body in [
        ("empty", ""), ("plain_text", "hello"), ("array", "[1,2,3]"), ("unrelated_object", '{"foo":"bar"}'),
        ("only_event_type", '{"event_type":"sms.sent"}'),
        ("binary", "\x00\x01\x02"),
    ]:
        add(f"undetectable_{name}", f"No provider named; body {name}", None, body, {}, {"insecure_skip_verification": True},
            "provider_not_detected")
    # Detection reads which keys are present, never their types (issue 26): an `event` that is
    # no string still makes a LimePhone body.
    add("detected_by_keys_event_not_string", "No provider named; LimePhone's keys with a numeric event: "
        "detected as LimePhone all the same", None, '{"event":1,"call_id":"2"}', {},
        {"insecure_skip_verification": True}, None)
    # Detection never skips verification.
    lime = GOOD_BODY["limephone"].encode()
    add("detected_but_unverified", "Detected from its signature header, but forged", None, lime,
        {"X-LimePhone-Signature": "0" * 64, "Authorization": "Bearer lime-bearer-TOKEN-9f8e"}, {"limephone": LIME},
        "signature_mismatch")
    add("detected_without_credentials", "Detected from the body, no credentials", None, GOOD_BODY["lisoloo"], {}, None,
        "missing_credentials")


# ---------------------------------------------------------------- many names (cost stays linear)
def many_names():
    """Shapes whose cost grew quadratically with the number of names they hold (a review): each
    is pinned here at 2,000 names (the review's timings, before and after: bench/PROFILE.md)."""
    n = 2000
    vonage = {"jwt_hs256": ["vonage-signature-secret-0123"]}
    params = "&".join(["sig=" + "0" * 32, "messageId=1", "msisdn=447700900000", "to=447700900001", "text=hi",
                       f"message-timestamp=2026-01-21+12%3A00%3A00", f"timestamp={NOW}"]
                      + [f"a{i:05d}=" for i in range(n)])
    add("vonage_sig_2000_names_unsigned", "An inbound SMS form with a made-up sig and 2,000 distinct names: refused "
        "in time linear in the names (every pair was compared for a repeat)", "vonage", params,
        {"Content-Type": "application/x-www-form-urlencoded"}, vonage, "signature_mismatch")
    query = "&".join(f"p{i}=1" for i in range(n))
    add("twilio_url_2000_query_names_forged", "A Twilio delivery to a URL with 2,000 distinct query names and a "
        "made-up signature: refused in time linear in the names (each was searched for in a list)", "twilio",
        "MessageSid=SM1&From=%2B14155550100&To=%2B14155550101&Body=hi",
        {"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": "A" * 27 + "="},
        {"auth_token": ["twilio-auth-token-0123456789abcdef"]}, "signature_mismatch",
        url=f"https://hooks.example.com/twilio?{query}")
    telnyx = json.dumps({"data": {"event_type": "message.sent", "id": "t-many", "occurred_at": "2026-01-21T12:50:06Z",
                                  "payload": {"id": "m-many", "to": [1] * n}, "record_type": "event"}},
                        separators=(",", ":"))
    signed("telnyx", "message_sent_2000_unreadable_recipients", "A signed message.sent whose `to` holds 2,000 "
           "numbers: each listed unread once, in time linear in them (each was searched for in the list)",
           telnyx, None)
    dlr = {"id": 1000001, "msisdn": 4587654321, "time": NOW - 60, "status": "DELIVERED"}
    dlr.update({f"k{i:05d}": i for i in range(n)})
    body = json.dumps(dlr, separators=(",", ":"))
    add("gatewayapi_jwt_2000_claims", "A legacy delivery report of 2,000 extra keys, its JWT's claims the same: "
        "verified in time linear in the keys (each body key was searched for among the claims)", "gatewayapi",
        body, {"X-Gwapi-Signature": jwt(dlr), "Content-Type": "application/json"}, GW, None)


def deep_texts():
    """JSON texts held in strings, each read again by the redaction rules: their depth counts
    through every text they are inside, and one that takes it past 128 goes whole (8 texts each
    126 deep took 414 KiB of stack; a thread of musl's default 128 KiB overflowed at one)."""
    def texts(levels, depth):
        text = '"leaf"'
        for _ in range(levels):
            text = json.dumps("[" * depth + text + "]" * depth)
        return text
    good = json.loads(GOOD_BODY["limephone"])
    for levels, depth, what in ((2, 100, "past 128 in all: the inner text goes whole"),
                                (2, 60, "120 in all: both read as trees"),
                                (8, 100, "eight levels, past 128 from the second")):
        body = json.dumps(good)[:-1] + f',"note":{texts(levels, depth)}' + "}"
        signed("limephone", f"json_text_{levels}_levels_{depth}_deep", f"A field holding JSON texts {levels} levels "
               f"deep, each {depth} deep: {what}", body, None)


def main():
    many_names()
    deep_texts()
    bodies()
    shapes()
    auth()
    signature_lists()
    jwt_coverage()
    cross_provider()
    telnyx_auth()
    requests()
    blessed_dir = os.path.join(HERE, "hostile")
    blessed = {}
    for name in os.listdir(blessed_dir) if os.path.isdir(blessed_dir) else []:
        if name.endswith(".json"):
            with open(os.path.join(blessed_dir, name), encoding="utf-8") as f:
                blessed[name[:-5]] = json.load(f)
    shutil.rmtree(OUT, ignore_errors=True)
    os.makedirs(OUT)
    for name, vector in sorted(VECTORS.items()):
        old = blessed.get(name)
        if "event" in vector["expect"] and old is not None:
            same_input = {k: v for k, v in old.items() if k != "expect"} == \
                {k: v for k, v in vector.items() if k != "expect"}
            if same_input and old.get("expect", {}).get("event") is not None:
                vector["expect"] = old["expect"]
        with open(os.path.join(OUT, name + ".json"), "w", encoding="utf-8") as f:
            f.write(json.dumps(vector, indent=2, ensure_ascii=False) + "\n")
    print(f"wrote {len(VECTORS)} hostile vectors")


if __name__ == "__main__":
    main()
