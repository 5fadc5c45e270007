#!/usr/bin/env python3
"""Writes bench/payloads/*.json: one realistic signed request per provider (300–800 B) and
one 64 KB body, in the conformance-vector format, signed by the vector generator's helpers;
and bench/payloads/growth/*.json: one signed Limephone message of exactly 1 KiB, 64 KiB and
1 MiB of body (the core's default body cap), for the cost-growth goal of issue 14."""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "vectors"))
import generate as g  # noqa: E402

text = ("Hi, I'd like to move my appointment on Thursday to the afternoon if possible. "
        "Also, could you confirm the address and whether parking is available nearby? Thanks!")


def lime(message):
    body = json.dumps({"event": "sms_received", "message_id": "345678", "virtual_number": "+15551234567",
                       "sender_number": "+18887654321", "message_content": message,
                       "timestamp": "2025-01-30T14:20:00Z", "contact_name": "Ada Lovelace", "tags": ["lead"]})
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {g.LIME_BEARER}",
               "X-LimePhone-Signature": g.hmac_hex(g.LIME_SECRET, body)}
    return body, headers, {"hmac_sha256": [g.LIME_SECRET], "bearer": [g.LIME_BEARER]}


PAYLOADS = {}
PAYLOADS["limephone"] = ("limephone",) + lime(text)
body = json.dumps({"event_id": "0b6f0f0e-8a57-4c55-9a43-55c3b0e1a004", "event_type": "sms.failed",
                   "timestamp": "2026-05-27T10:15:08Z", "message_id": "507f1f77bcf86cd799439011",
                   "data": {"recipient_phone": "+447700900123", "error_code": 34, "error_message": "Absent subscriber",
                            "segments": 2, "price": {"amount": "0.05", "currency": "EUR"}}})
PAYLOADS["lisoloo"] = ("lisoloo", body, {"Content-Type": "application/json", "Authorization": g.basic(g.LISO_USER, g.LISO_PASS)},
                       {"basic": [{"username": g.LISO_USER, "password": g.LISO_PASS}]})
body = json.dumps({"event_id": "9c3e1a52-4b8d-4e0a-a1f3-0c9b7d6e5f42", "timestamp": "2026-03-02T09:01:05Z",
                   "event_type": "message.status.sms",
                   "event": {"msg_id": "01HQ8ZK7D3W3M1Y6T5P0E2B9AX", "recipient": 4512345678, "reference": "order-1042",
                             "status": "UNDELIVERABLE", "status_at": "2026-03-02T09:01:00Z",
                             "error": {"hex_code": "0x0B", "details": "Absent subscriber"}}})
PAYLOADS["gatewayapi"] = ("gatewayapi", body, {"Content-Type": "application/json", "Signature": "v1=" + g.hmac_hex(g.GW_HMAC, body)},
                          {"hmac_sha256": [g.GW_HMAC]})
with open(os.path.join(HERE, "..", "tests", "vectors", "looplookup", "doc_apple_only.json")) as f:
    v = json.load(f)
PAYLOADS["looplookup"] = ("looplookup", v["request"]["body"], v["request"]["headers"], v["credentials"])
with open(os.path.join(HERE, "..", "tests", "vectors", "did_reseller", "lnp_request_pins_redacted.json")) as f:
    v = json.load(f)
PAYLOADS["did_reseller"] = ("did_reseller", v["request"]["body"], {"Content-Type": "application/json"}, v["credentials"], v["request"]["url"])
big = (text + " ") * (65536 // (len(text) + 1))
PAYLOADS["limephone_64k"] = ("limephone",) + lime(big)


def sized(size):
    """A Limephone message whose body is exactly `size` bytes: message_content padded."""
    base = len(lime("")[0].encode())
    message = ((text + " ") * (size // len(text) + 1))[: size - base]
    body = lime(message)
    assert len(body[0].encode()) == size, (size, len(body[0].encode()))
    return ("limephone",) + body


GROWTH = {"limephone_1k": sized(1024), "limephone_64k": sized(64 * 1024), "limephone_1m": sized(1024 * 1024)}


def write(path, name, entry):
    provider, body, headers, credentials = entry[:4]
    request = {"method": "POST", "headers": headers, "body": body}
    if len(entry) > 4:
        request["url"] = entry[4]
    with open(path, "w") as f:
        json.dump({"name": name, "provider": provider, "request": request, "credentials": credentials, "now": g.NOW}, f, indent=2)
    print(f"{os.path.relpath(path, HERE)}: {len(body.encode())} B")


for name, entry in PAYLOADS.items():
    write(os.path.join(HERE, "payloads", name + ".json"), name, entry)
os.makedirs(os.path.join(HERE, "payloads", "growth"), exist_ok=True)
for name, entry in GROWTH.items():
    write(os.path.join(HERE, "payloads", "growth", name + ".json"), name, entry)
