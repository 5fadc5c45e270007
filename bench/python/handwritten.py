"""The honest best a user would write without telhook, in Python: hmac.compare_digest +
json.loads + the same field mapping telhook does (bench.py checks each field against telhook's
event), with what depends only on the secrets made once, as telhook's Receiver does. Written once,
for the benchmark; a reviewer made it faster where it did more than it needed (canonical times
reformatted, json.loads sniffing bytes, a regex per number, a keyed HMAC per call)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from datetime import date, datetime, timezone
from typing import Any, Dict
from urllib.parse import unquote_plus

_DIGITS = re.compile(r"[^0-9]")
LIME_TYPES = {
    "incoming_call": "call.incoming", "missed_call": "call.missed", "call_completed": "call.completed",
    "call_status_update": "call.status", "voicemail_received": "voicemail.received", "sms_sent": "message.sent",
    "sms_received": "message.received",
}
LISO = {"pending": "accepted", "processing": "queued", "sent": "sent", "delivered": "delivered", "failed": "failed"}
RECORD = {"insert": ("record.created", "created"), "update": ("record.updated", "updated"),
          "delete": ("record.deleted", "deleted")}
GW = {"DELIVERED": "delivered", "UNDELIVERABLE": "failed", "ENROUTE": "sent", "ACCEPTED": "accepted"}


def e164(number: Any) -> Any:
    if number is None:
        return None
    text = number if type(number) is str else str(number)
    if text.isascii():  # the common spellings, "+digits" and bare digits, without the regex
        if text[:1] == "+":
            if text[1:].isdigit():
                return text
        elif text.isdigit():
            return "+" + text
    return "+" + _DIGITS.sub("", text)


def iso(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value, tz=timezone.utc).isoformat().replace("+00:00", "Z")
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))  # checks it is a time
    if len(value) == 20 and value[4::3] == "--T::Z":  # already YYYY-MM-DDTHH:MM:SSZ: its own answer
        return value
    return parsed.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def day(value: Any) -> Any:
    """LoopLookup's dates ("2022-12-13"): checked, then UTC midnight, the cheapest way that knows the format."""
    if value is None:
        return None
    parsed = date.fromisoformat(value)  # checks it is a date
    return value + "T00:00:00Z" if len(value) == 10 and value[4::3] == "--" else parsed.isoformat() + "T00:00:00Z"


def lisoloo_error(data: Dict[str, Any]) -> Any:
    code = data.get("error_code")
    return None if code is None else {"code": str(code), "description": data.get("error_message")}


def gatewayapi_error(error: Any) -> Any:
    return None if not error else {"code": error.get("hex_code"), "description": error.get("details")}


def query_param(url: str, name: str) -> str:
    """The first non-empty value of `name` in the URL's query, as parse_qs reads it."""
    for pair in url.partition("?")[2].partition("#")[0].split("&"):
        key, _, value = pair.partition("=")
        if value and unquote_plus(key) == name:
            return unquote_plus(value)
    return ""


def hmac_ok(keyed: "hmac.HMAC", body: bytes, signature: str) -> bool:
    mac = keyed.copy()  # the secret's keyed HMAC state, made once (as telhook's Receiver keeps it)
    mac.update(body)
    expected = mac.hexdigest()
    return hmac.compare_digest(expected, signature or "")


def handwritten(provider: str, headers: Dict[str, str], body: bytes, url: str, secrets: Dict[str, Any]) -> Dict[str, Any]:
    if provider == "limephone":
        if not hmac_ok(secrets["hmac"], body, headers.get("X-LimePhone-Signature", "")):
            raise ValueError("bad signature")
        if not hmac.compare_digest(headers.get("Authorization", ""), secrets["bearer_header"]):
            raise ValueError("bad token")
        p = json.loads(body.decode())
        inbound = p["event"] != "sms_sent"
        return {
            "id": f"limephone:{p['event']}:{p.get('call_id') or p.get('message_id')}",
            "type": LIME_TYPES.get(p["event"], "other"),
            "from": e164(p.get("caller_number") or p.get("sender_number") if inbound else p.get("virtual_number")),
            "to": e164(p.get("virtual_number") if inbound else p.get("recipient_number")),
            "occurred_at": iso(p.get("timestamp")), "text": p.get("message_content"),
            "message_id": p.get("message_id") or p.get("call_id"), "direction": "inbound" if inbound else "outbound",
            "raw": p,
        }
    if provider == "lisoloo":
        if not hmac.compare_digest(headers.get("Authorization", ""), secrets["basic_header"]):
            raise ValueError("bad credentials")
        p = json.loads(body.decode())
        word = p["event_type"].removeprefix("sms.")
        return {
            "id": f"lisoloo:{p['event_id']}", "type": "message.status" if word in LISO else "other",
            "to": e164((p.get("data") or {}).get("recipient_phone")), "occurred_at": iso(p.get("timestamp")),
            "status": LISO.get(word), "message_id": p.get("message_id"), "error": lisoloo_error(p.get("data") or {}),
            "direction": "outbound",
            "raw": p,
        }
    if provider == "gatewayapi":
        signature = headers.get("Signature", "").removeprefix("v1=")
        if not hmac_ok(secrets["hmac"], body, signature):
            raise ValueError("bad signature")
        p = json.loads(body.decode())
        event = p["event"]
        return {
            "id": f"gatewayapi:{p['event_id']}", "type": "message.status", "to": e164(event.get("recipient")),
            "occurred_at": iso(event.get("status_at")), "status": GW.get(event.get("status"), "unknown"),
            "message_id": event.get("msg_id"), "error": gatewayapi_error(event.get("error")),
            "reference": event.get("reference"), "direction": "outbound", "raw": p,
        }
    if provider == "looplookup":
        if not hmac.compare_digest(headers.get("Authorization", ""), secrets["authorization"]):
            raise ValueError("bad authorization")
        p = json.loads(body.decode())
        is_email = "@" in p["contact"]
        contact = p["contact"].lower() if is_email else e164(p["contact"])
        result = p.get("result_v1") or {}
        apple = result.get("apple_services") or {}
        carrier = result.get("carrier") or {}
        facetime, imessage = apple.get("facetime") or {}, apple.get("imessage") or {}
        return {
            "id": f"looplookup:{p.get('webhook_id')}", "type": "lookup.completed", "request_id": p.get("request_id"),
            "contact": contact, "contact_kind": "email" if is_email else "phone",
            "facetime": {"status": facetime.get("status"), "last_seen": day(facetime.get("date"))},
            "imessage": {"status": imessage.get("status"), "last_seen": day(imessage.get("date"))},
            "carrier": carrier.get("carrier"), "number_type": carrier.get("number_type"),
            "country": (result.get("country") or {}).get("iso2"), "raw": p,
        }
    if provider == "did_reseller":
        token = query_param(url, "token")
        if not hmac.compare_digest(token, secrets["token"]):
            raise ValueError("bad token")
        p = json.loads(body.decode())
        data = json.loads(p["data"])
        for key in ("wireless_pin", "inbox_pin", "account_number", "credit_line"):
            if key in data:
                data[key] = "[REDACTED]"
        kind, action = RECORD.get(p["type"], ("other", None))
        return {
            "id": "did_reseller:sha256:" + hashlib.sha256(body).hexdigest(), "type": kind, "action": action,
            "schema": p["schema"], "record_id": str(data.get("id")), "data": data, "raw": {**p, "data": data},
        }
    raise ValueError("unknown provider")


def secrets_of(credentials: Dict[str, Any]) -> Dict[str, Any]:
    def first(value: Any) -> Any:
        return value[0] if isinstance(value, list) else value

    basic = first(credentials.get("basic")) or {}
    bearer, hmac_secret = first(credentials.get("bearer")), first(credentials.get("hmac_sha256"))
    return {
        # What the checks compare against, made once, as a receiver does at start-up.
        "bearer_header": None if bearer is None else "Bearer " + bearer,
        "basic_header": None if not basic else "Basic " + base64.b64encode(
            f"{basic.get('username')}:{basic.get('password')}".encode()).decode(),
        "hmac": None if hmac_secret is None else hmac.new(hmac_secret.encode(), digestmod=hashlib.sha256),
        "authorization": first(credentials.get("authorization")), "token": first(credentials.get("url_token")),
    }
