"""The honest best a user would write without telhook, in Python: hmac.compare_digest +
json.loads + the same field mapping telhook does. Written once, for the benchmark."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from datetime import date, datetime, timezone
from typing import Any, Dict
from urllib.parse import parse_qs, urlsplit

_DIGITS = re.compile(r"[^0-9]")
LIME_TYPES = {
    "incoming_call": "call.incoming", "missed_call": "call.missed", "call_completed": "call.completed",
    "call_status_update": "call.status", "voicemail_received": "voicemail.received", "sms_sent": "message.sent",
    "sms_received": "message.received",
}
LISO = {"pending": "accepted", "processing": "queued", "sent": "sent", "delivered": "delivered", "failed": "failed"}
GW = {"DELIVERED": "delivered", "UNDELIVERABLE": "failed", "ENROUTE": "sent", "ACCEPTED": "accepted"}


def e164(number: Any) -> Any:
    return None if number is None else "+" + _DIGITS.sub("", str(number))


def iso(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value, tz=timezone.utc).isoformat().replace("+00:00", "Z")
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def day(value: Any) -> Any:
    """LoopLookup's dates ("2022-12-13"): checked, then UTC midnight, the cheapest way that knows the format."""
    return None if value is None else date.fromisoformat(value).isoformat() + "T00:00:00Z"


def lisoloo_error(data: Dict[str, Any]) -> Any:
    code = data.get("error_code")
    return None if code is None else {"code": str(code), "description": data.get("error_message")}


def gatewayapi_error(error: Any) -> Any:
    return None if not error else {"code": error.get("hex_code"), "description": error.get("details")}


def hmac_ok(secret: str, body: bytes, signature: str) -> bool:
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature or "")


def handwritten(provider: str, headers: Dict[str, str], body: bytes, url: str, secrets: Dict[str, Any]) -> Dict[str, Any]:
    if provider == "limephone":
        if not hmac_ok(secrets["hmac"], body, headers.get("X-LimePhone-Signature", "")):
            raise ValueError("bad signature")
        if not hmac.compare_digest(headers.get("Authorization", ""), "Bearer " + secrets["bearer"]):
            raise ValueError("bad token")
        p = json.loads(body)
        inbound = p["event"] != "sms_sent"
        return {
            "id": f"limephone:{p['event']}:{p.get('call_id') or p.get('message_id')}",
            "type": LIME_TYPES.get(p["event"], "other"),
            "from": e164(p.get("caller_number") or p.get("sender_number") if inbound else p.get("virtual_number")),
            "to": e164(p.get("virtual_number") if inbound else p.get("recipient_number")),
            "occurred_at": iso(p.get("timestamp")), "text": p.get("message_content"), "raw": p,
        }
    if provider == "lisoloo":
        expected = "Basic " + base64.b64encode(f"{secrets['user']}:{secrets['password']}".encode()).decode()
        if not hmac.compare_digest(headers.get("Authorization", ""), expected):
            raise ValueError("bad credentials")
        p = json.loads(body)
        word = p["event_type"].removeprefix("sms.")
        return {
            "id": f"lisoloo:{p['event_id']}", "type": "message.status" if word in LISO else "other",
            "to": e164((p.get("data") or {}).get("recipient_phone")), "occurred_at": iso(p.get("timestamp")),
            "status": LISO.get(word), "message_id": p.get("message_id"), "error": lisoloo_error(p.get("data") or {}),
            "raw": p,
        }
    if provider == "gatewayapi":
        signature = headers.get("Signature", "").removeprefix("v1=")
        if not hmac_ok(secrets["hmac"], body, signature):
            raise ValueError("bad signature")
        p = json.loads(body)
        event = p["event"]
        return {
            "id": f"gatewayapi:{p['event_id']}", "type": "message.status", "to": e164(event.get("recipient")),
            "occurred_at": iso(event.get("status_at")), "status": GW.get(event.get("status"), "unknown"),
            "message_id": event.get("msg_id"), "error": gatewayapi_error(event.get("error")), "raw": p,
        }
    if provider == "looplookup":
        if not hmac.compare_digest(headers.get("Authorization", ""), secrets["authorization"]):
            raise ValueError("bad authorization")
        p = json.loads(body)
        contact = p["contact"].lower() if "@" in p["contact"] else e164(p["contact"])
        apple = (p.get("result_v1") or {}).get("apple_services") or {}
        facetime, imessage = apple.get("facetime") or {}, apple.get("imessage") or {}
        return {
            "id": f"looplookup:{p.get('webhook_id')}", "type": "lookup.completed", "request_id": p.get("request_id"),
            "contact": contact, "contact_kind": "email" if "@" in p["contact"] else "phone",
            "facetime": {"status": facetime.get("status"), "last_seen": day(facetime.get("date"))},
            "imessage": {"status": imessage.get("status"), "last_seen": day(imessage.get("date"))},
            "raw": p,
        }
    if provider == "did_reseller":
        token = parse_qs(urlsplit(url).query).get("token", [""])[0]
        if not hmac.compare_digest(token, secrets["token"]):
            raise ValueError("bad token")
        p = json.loads(body)
        data = json.loads(p["data"])
        for key in ("wireless_pin", "inbox_pin", "account_number", "credit_line"):
            if key in data:
                data[key] = "[REDACTED]"
        return {
            "id": "did_reseller:sha256:" + hashlib.sha256(body).hexdigest(), "type": f"record.{p['type']}d",
            "schema": p["schema"], "record_id": str(data.get("id")), "data": data, "raw": {**p, "data": data},
        }
    raise ValueError("unknown provider")


def secrets_of(credentials: Dict[str, Any]) -> Dict[str, Any]:
    def first(value: Any) -> Any:
        return value[0] if isinstance(value, list) else value

    basic = first(credentials.get("basic")) or {}
    return {
        "hmac": first(credentials.get("hmac_sha256")), "bearer": first(credentials.get("bearer")),
        "user": basic.get("username"), "password": basic.get("password"),
        "authorization": first(credentials.get("authorization")), "token": first(credentials.get("url_token")),
    }
