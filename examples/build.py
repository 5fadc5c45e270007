#!/usr/bin/env python3
"""Writes examples/<provider>/*.http (raw HTTP/1.1 captures) and credentials.json from chosen
conformance vectors, so the demo shows the same signed requests the tests check.

Run: python3 examples/build.py [OUT_DIR]  (default: this directory)"""
import base64
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = sys.argv[1] if len(sys.argv) > 1 else HERE
VECTORS = os.path.join(HERE, "..", "tests", "vectors")
CHOSEN = {
    "limephone": ["doc_incoming_call", "doc_missed_call", "call_completed_outbound", "call_status_update_answered",
                  "doc_voicemail_received", "doc_sms_sent", "doc_sms_received"],
    "lisoloo": ["sms_pending", "sms_sent", "doc_envelope_delivered", "sms_failed_with_error"],
    "gatewayapi": ["messaging_status_delivered", "messaging_incoming_sms", "legacy_dlr_jwt", "legacy_mo_jwt"],
    "looplookup": ["doc_full_result", "email_contact_lowercased"],
    "did_reseller": ["dids_update", "lnp_request_pins_redacted", "sms_enablement_error_already_provisioned"],
    "twilio": ["inbound_sms", "status_delivered", "call_completed", "call_incoming_get"],
    "telnyx": ["message_received_sms", "message_finalized_delivered", "call_initiated", "call_hangup"],
    # The Messages API (a JWT) and the SMS API's three options (sig: JSON, form, GET).
    "vonage": ["status_delivered", "inbound_sms", "sms_dlr_json", "sms_dlr_form", "sms_inbound_get"],
}

for provider, names in CHOSEN.items():
    os.makedirs(os.path.join(OUT, provider), exist_ok=True)
    for index, name in enumerate(names, 1):
        with open(os.path.join(VECTORS, provider, name + ".json"), encoding="utf-8") as f:
            vector = json.load(f)
        request = vector["request"]
        body = base64.b64decode(request["body_base64"]) if "body_base64" in request else request["body"].encode()
        url = request.get("url", "https://hooks.example.com/" + provider)
        target = url.split("//", 1)[-1]
        host, _, path = target.partition("/")
        headers = request["headers"].items() if isinstance(request["headers"], dict) else request["headers"]
        lines = [f"{request.get('method', 'POST')} /{path} HTTP/1.1", f"Host: {host}"]
        lines += [f"{k}: {v}" for k, v in headers]
        lines.append(f"Content-Length: {len(body)}")
        capture = ("\r\n".join(lines) + "\r\n\r\n").encode() + body
        with open(os.path.join(OUT, provider, f"{index:02d}_{name}.http"), "wb") as f:
            f.write(capture)
        with open(os.path.join(OUT, provider, "credentials.json"), "w", encoding="utf-8") as f:
            json.dump(vector["credentials"], f, indent=2)
            f.write("\n")
print("examples written")
