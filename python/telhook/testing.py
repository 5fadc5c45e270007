"""Signed sample webhooks for your tests, made by the same Rust core that verifies them.

``signed_request`` builds the request a provider would send (method, URL, headers, body) for a
sample body or your own; ``post_to_django`` sends it through Django's test client; the
``signed_webhook`` pytest fixture is ``signed_request`` (enable it with
``pytest_plugins = ["telhook.testing"]`` in your ``conftest.py``).

Every sample is a new event: its event id (and the message or call id where that is what
keys the event) is fresh on every call, so a dedupe store that outlives your tests (Redis, a
database) never answers the next run "duplicate" without calling your handler. Pin an id by
naming it in ``overrides`` (``{"event_id": "e-1"}``) when a test needs the same event twice.
"""

from __future__ import annotations

import base64
import importlib
import json
import secrets
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Literal, Mapping, Optional, Tuple, Union, cast

from . import _body_bytes, _credentials_json, _now_seconds, _shown
from ._api import call as _call
from . import BodyLike, NowLike
from .types import AuthScheme, Credentials, ProviderName

CredentialsLike = Union[Credentials, Mapping[str, Any]]


@dataclass(frozen=True)
class SignedRequest:
    """One request as the provider sends it. ``url`` is a path with the query the scheme
    needs (the DID reseller's URL token); join it to your endpoint with :meth:`url_for`."""

    method: str
    url: str
    headers: List[Tuple[str, str]]
    body: bytes
    # The core's view of the request for repr: credentials' header and query values redacted.
    shown: str = field(default="", repr=False, compare=False)

    def header(self, name: str) -> Optional[str]:
        """The value of a header, matched case-insensitively."""
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None

    def url_for(self, base: str) -> str:
        """``base`` (an absolute URL or a path) with each pair of this request's query that it
        lacks appended."""
        return cast(str, _call("target_url", base, self.url))

    def __repr__(self) -> str:
        return _shown("SignedRequest", self.shown, self.headers)


def event_kinds(provider: ProviderName) -> List[str]:
    """The event kinds :func:`sample` knows for ``provider``; the first is the default."""
    return cast(List[str], _call("event_kinds", provider))


def _fresh_key(provider: str, kind: str) -> Dict[str, Any]:
    """New values for the fields that key an event of ``kind`` (see each provider's
    ``identity`` in the core): the event id where the provider sends one, else the message,
    call or record id the key is made of. Numbers stay below 2**53 (any JSON reader keeps them).
    A provider without a rule here (Twilio, Telnyx, Vonage, any added later) takes the core's
    own for a random serial."""
    number = secrets.randbits(52)
    if provider == "lisoloo" or (provider == "gatewayapi" and "." in kind):
        return {"event_id": str(uuid.uuid4())}
    if provider == "gatewayapi":  # the legacy shapes key on the message id
        return {"id": number}
    if provider == "limephone":  # <event>:<message_id|call_id>[:<status>]
        return {"message_id" if kind.startswith("sms_") else "call_id": str(number)}
    if provider == "looplookup":
        return {"webhook_id": str(uuid.uuid4())}
    if provider == "did_reseller":  # a hash of the body: a new record id (or error text)
        if kind == "sms_enablement.error":
            return {"verbose": f"already provisioned (request {number})"}
        return {"data": {"id": number}}
    return cast(Dict[str, Any], _call("identity", provider, kind, number))


def _compose(first: Dict[str, Any], second: Mapping[str, Any]) -> Dict[str, Any]:
    """One merge patch doing what ``first`` then ``second`` do (``second`` wins)."""
    out = dict(first)
    for key, value in second.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = _compose(out[key], value)
        else:
            out[key] = value
    return out


def sample(
    provider: ProviderName, event_kind: Optional[str] = None, overrides: Optional[Mapping[str, Any]] = None
) -> bytes:
    """A realistic body of ``event_kind``, with ``overrides`` merged in (JSON merge patch).
    Each call is a new event (a fresh event id) unless ``overrides`` names the id."""
    kind = event_kind if event_kind is not None else event_kinds(provider)[0]
    if overrides is not None and not isinstance(overrides, Mapping):
        return cast(str, _call("sample", provider, kind, overrides)).encode("utf-8")  # the core's error
    patch = _compose(_fresh_key(provider, kind), overrides or {})
    return cast(str, _call("sample", provider, kind, patch)).encode("utf-8")


def signed_request(
    provider: ProviderName,
    event_kind: Optional[str] = None,
    *,
    credentials: CredentialsLike,
    body: Optional[BodyLike] = None,
    overrides: Optional[Mapping[str, Any]] = None,
    now: NowLike = None,
    scheme: Optional[AuthScheme] = None,
    url: Optional[str] = None,
    transport: Optional[Literal["body", "form", "query"]] = None,
) -> SignedRequest:
    """The request ``provider`` sends: ``body``, or a :func:`sample` of ``event_kind`` (a new
    event on every call unless ``overrides`` names its id), signed with every scheme
    ``credentials`` configure (or only ``scheme``). ``url``: the receiver's full URL (its
    ``public_url`` when it has one), which Twilio signs; without it a Twilio request is signed
    for ``https://telhook.test/``. ``transport``: ``"form"`` (a form POST) or ``"query"`` (a GET)
    sends a flat JSON body's parameters the way Vonage's SMS API may (default: the provider's
    usual body)."""
    if url is not None and not isinstance(url, str):
        raise TypeError("url must be a str (the receiver's full URL)")
    raw = _body_bytes(body) if body is not None else sample(provider, event_kind, overrides)
    credentials_value = json.loads(_credentials_json(credentials))  # checked for unset fields
    wire = _call("sign", provider, credentials_value, _now_seconds(now), scheme, url, transport, data=raw)
    return SignedRequest(
        method=wire["method"],
        url=wire["url"],
        headers=[(name, value) for name, value in wire["headers"]],
        body=base64.b64decode(wire["body_base64"]),
        shown=wire["shown"],
    )


def post_to_django(client: Any, path: str, request: SignedRequest) -> Any:
    """Sends ``request`` to ``path`` with a ``django.test.Client``; returns its response."""
    content_type = request.header("Content-Type") or "application/octet-stream"
    headers = {name: value for name, value in request.headers if name.lower() != "content-type"}
    return client.generic(
        request.method, request.url_for(path), data=request.body, content_type=content_type, headers=headers
    )


SignedRequestFactory = Callable[..., SignedRequest]

def _signed_webhook() -> SignedRequestFactory:
    """:func:`signed_request`, as a fixture."""
    return signed_request


# Imported by name so that telhook does not depend on pytest (nor its typing on pytest's).
try:
    _pytest: Any = importlib.import_module("pytest")
except ImportError:  # pragma: no cover - pytest is only needed for the fixture
    pass
else:
    signed_webhook = _pytest.fixture(name="signed_webhook")(_signed_webhook)


__all__ = [
    "SignedRequest", "SignedRequestFactory", "event_kinds", "post_to_django", "sample", "signed_request",
    "signed_webhook",
]
