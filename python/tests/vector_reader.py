"""The one reader of the vectors for the Python runners (pytest, and wheel_smoke.py in a venv that
holds only the wheel: standard library only here).

A vector's request form is the core's JSON request (``WebhookRequest::from_json_value``):
``{method?, url?, headers, body | body_base64}``, headers as an object (a value may be a list:
the header repeated) or as [name, value] pairs; handler vectors add ``body_repeat: {text,
times}`` for large bodies.
"""

from __future__ import annotations

import base64
import json
import pathlib
import re
from typing import Any, Dict, List, NamedTuple, Optional, Tuple

ROOT = pathlib.Path(__file__).resolve().parents[2]
VECTORS_DIR = ROOT / "tests" / "vectors"
HANDLERS_DIR = ROOT / "tests" / "handlers"
INBOX_DIR = ROOT / "tests" / "inbox"


def load_vectors(directory: pathlib.Path = VECTORS_DIR) -> List[Tuple[str, Dict[str, Any]]]:
    """Every conformance and hostile vector, as ("<group>/<file>", vector)."""
    return [(f"{path.parent.name}/{path.name}", json.loads(path.read_text("utf-8")))
            for path in sorted(directory.glob("*/*.json"))]


def handler_vector_paths(directory: pathlib.Path = HANDLERS_DIR) -> List[pathlib.Path]:
    return sorted(directory.glob("*.json"))


def body_of(form: Dict[str, Any]) -> bytes:
    if "body_repeat" in form:
        return str(form["body_repeat"]["text"] * form["body_repeat"]["times"]).encode("utf-8")
    if "body_base64" in form:
        return base64.b64decode(form["body_base64"])
    return str(form.get("body", "")).encode("utf-8")


def header_pairs(form: Dict[str, Any]) -> List[Tuple[str, str]]:
    headers = form.get("headers") or {}
    if isinstance(headers, list):
        return [(name, value) for name, value in headers]
    return [(name, item) for name, value in headers.items() for item in (value if isinstance(value, list) else [value])]


class Request(NamedTuple):
    method: str
    url: Optional[str]
    headers: List[Tuple[str, str]]
    body: bytes


def request_of(form: Dict[str, Any]) -> Request:
    return Request(form.get("method", "POST"), form.get("url"), header_pairs(form), body_of(form))


def url_options(vector: Dict[str, Any]) -> Dict[str, Any]:
    """The vector's URL options (Twilio behind a proxy), as keyword arguments."""
    options = vector.get("options") or {}
    return {name: options[name] for name in ("public_url", "trust_forwarded_headers") if name in options}


def max_body_bytes(vector: Dict[str, Any]) -> Optional[int]:
    """The vector's one option."""
    limit: Optional[int] = (vector.get("options") or {}).get("max_body_bytes")
    return limit


TWIML_ANSWER = re.compile(rb'<\?xml version="1\.0" encoding="UTF-8"\?><!-- telhook: ([a-z_]+) --><Response/>')


def code_of(body: bytes) -> Optional[str]:
    """The answer's code: `{"outcome"|"error": code}`, or Twilio's empty TwiML with it in a comment."""
    twiml = TWIML_ANSWER.fullmatch(body)
    if twiml:
        return twiml.group(1).decode()
    try:
        parsed = json.loads(body)
    except ValueError:
        return None
    return parsed.get("error") or parsed.get("outcome") if isinstance(parsed, dict) else None


def answered(status: int, headers: Any, body: bytes, expect: Dict[str, Any]) -> Dict[str, Any]:
    """What an inbox or handler vector's ``expect`` is compared with: the status, the body's
    code (its ``outcome`` or ``error``, or in Twilio's TwiML), and only the headers ``expect``
    lists. ``headers``: a mapping with case-insensitive names (Django's) or (name, value) pairs."""
    seen: Dict[str, Any] = {"status": status, "code": code_of(body) if body else None}
    if "headers" in expect:
        pairs = headers.items() if hasattr(headers, "items") else headers
        lowered = {name.lower(): value for name, value in pairs}
        seen["headers"] = {name: lowered.get(name) for name in expect["headers"]}
    return seen
