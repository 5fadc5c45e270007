"""telhook: verify and normalize telephony/SMS provider webhooks.

Every rule lives in the Rust core (``telhook._core``); this module only converts Python
values (headers in any mapping or pair form, bodies as bytes-like or str, datetimes) to the
core's inputs and its JSON results back to Python objects.
"""

from __future__ import annotations

import base64
import functools
import json
import math
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Set, Tuple, Union, cast

from . import _core
from ._api import call as _call
from ._receive import Answer, Response, areceive, decide, receive
from .errors import ConfigurationError, ParseError, RequestError, VerificationError, WebhookError
from .stores import AsyncRedisStore, DedupeStore, DjangoCacheStore, DjangoDatabaseStore, MemoryStore, RedisStore
from .types import (
    Credentials, DeliveryStatus, LedgerApplied, LedgerState, NormalizedEvent, Outcome, ProviderName, StatusUpdate,
)

__version__ = "0.1.0"

HeadersLike = Union[Mapping[str, Any], Iterable[Tuple[str, str]]]
BodyLike = Union[bytes, bytearray, memoryview, str]
NowLike = Union[int, float, datetime, str, None]


def _header_pairs(headers: Optional[HeadersLike]) -> List[Tuple[str, str]]:
    if headers is None:
        return []
    items: Iterable[Tuple[str, Any]]
    if isinstance(headers, Mapping):
        items = headers.items()
    else:
        items = headers
    pairs: List[Tuple[str, str]] = []
    for name, value in items:
        if isinstance(value, (list, tuple)):
            pairs.extend((_header_text(name), _header_text(item)) for item in value)
        elif value is not None:
            pairs.append((_header_text(name), _header_text(value)))
    return pairs


def _header_text(value: Any) -> str:
    """A header name or value as text. Bytes (ASGI's scope["headers"], aiohttp's raw_headers,
    WSGI servers' raw pairs) are the wire's ISO-8859-1, as HTTP and ASGI define it: str() of
    them gave "b'authorization'", a header no provider sends, and a genuine event its 401."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).decode("latin-1")
    return str(value)


def _body_bytes(body: Optional[BodyLike]) -> bytes:
    if body is None:
        return b""
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode("utf-8")
    if isinstance(body, (bytearray, memoryview)):
        return bytes(body)
    raise TypeError("body must be bytes, bytearray, memoryview or str")


def _now_seconds(now: NowLike) -> int:
    if now is None:
        return int(time.time())
    if isinstance(now, datetime):
        # A naive datetime is read in the machine's local zone by timestamp(), while the same
        # time as text is read as UTC: datetime.utcnow() was hours off on a server outside UTC,
        # and every timestamped delivery refused (a review). It has no zone to read it in.
        if now.utcoffset() is None:
            raise ConfigurationError(
                "invalid_clock", "now: a naive datetime has no time zone: expected an aware one, such as "
                "datetime.now(timezone.utc)", "configuration", "now", "a timezone-aware datetime")
        return int(now.timestamp())
    if isinstance(now, str):
        return cast(int, _call("parse_time", now))
    return int(now)


def _unset_field(value: Any, path: str) -> Optional[str]:
    """The first field holding None (an unset environment variable, typically), if any."""
    if value is None:
        return path
    if isinstance(value, Mapping):
        return next((f for k, v in value.items() if (f := _unset_field(v, f"{path}.{k}")) is not None), None)
    if isinstance(value, (list, tuple)):
        return next((f for i, v in enumerate(value) if (f := _unset_field(v, f"{path}[{i}]")) is not None), None)
    return None


def _credentials_json(credentials: Union[Credentials, Mapping[str, Any], None]) -> str:
    if credentials is None:
        return "null"
    try:
        text = json.dumps(credentials)
    except (TypeError, ValueError):
        text = None
    # A None leaves `null` in the text: only then is there a field to look for (the walk cost
    # more than the rest of building a Receiver, which normalize_event does on every call).
    if text is None or "null" in text:
        unset = _unset_field(credentials, "credentials")
        if unset is not None:
            # Named, never shown: a None here would silently drop a check in JSON. The JSON text
            # leaves this frame's locals first: the traceback keeps them, and reporters show them.
            text = None
            raise ConfigurationError("missing_credentials", f"{unset} is None: set it (is an environment variable missing?)",
                                     "configuration", unset, "a value")
    return json.dumps(credentials) if text is None else text


Clock = Callable[[], float]


def _check_clock(clock: Optional[Clock]) -> Optional[Clock]:
    """Reads the clock once: a reading that is not UNIX seconds fails here (the core's
    ``invalid_option`` naming ``clock``, or ``invalid_clock`` for milliseconds), not per request."""
    if clock is None:
        return None
    if not callable(clock):
        raise TypeError("clock must be a callable returning UNIX seconds")
    reading = clock()
    number = not isinstance(reading, bool) and isinstance(reading, (int, float)) and math.isfinite(reading)
    # Anything but a number goes as null, which the core refuses without showing it.
    _call("check_now", math.floor(reading) if number else None)
    return clock


def _options_json(options: Mapping[str, Any]) -> str:
    """Options as JSON for the core, which checks each one (``invalid_option`` naming it): NaN,
    the infinities and values JSON cannot hold (a datetime, …) go as text, which the core
    refuses like any other value that is not an integer."""
    def plain(value: Any) -> Any:
        return "?" if isinstance(value, float) and not math.isfinite(value) else value
    return json.dumps({name: plain(value) for name, value in options.items()}, default=lambda _: "?")


class Receiver:
    """A configured receiver: credentials parsed once and reused for every request.

    ``provider=None`` detects the provider from each request (its credentials are still required).
    """

    __slots__ = ("provider", "clock", "warned", "_inner", "_flow_settings", "_machine_options", "_settings")

    def __init__(
        self,
        provider: Optional[ProviderName],
        credentials: Union[Credentials, Mapping[str, Any], None],
        *,
        max_body_bytes: Optional[int] = None,
        clock: Optional[Clock] = None,
        lease_secs: Optional[int] = None,
        dedupe_ttl_secs: Optional[int] = None,
        store_deadline_ms: Optional[int] = None,
        public_url: Optional[str] = None,
        trust_forwarded_headers: Optional[bool] = None,
    ) -> None:
        # Every option is checked by the core, the same as in Node (ConfigurationError
        # invalid_option naming it, never its value): here they are only passed on.
        self.provider = provider
        self.clock = _check_clock(clock)
        # public_url: the URL a provider that signs it (Twilio) calls, as set in its console
        # (behind a proxy); trust_forwarded_headers: read it from X-Forwarded-Proto/-Host/-Port.
        given = {"max_body_bytes": max_body_bytes, "public_url": public_url,
                 "trust_forwarded_headers": trust_forwarded_headers}
        given = {name: value for name, value in given.items() if value is not None}
        options = _options_json(given) if given else "null"
        self._inner = _core.Receiver(provider, _credentials_json(credentials), options)
        # The receive machine's settings, checked by the core (invalid_option) now when one of its
        # options is given, not per request. With none given there is nothing to refuse, and they
        # are built when an adapter first needs them: normalize_event never does.
        self._machine_options = {"lease_secs": lease_secs, "dedupe_ttl_secs": dedupe_ttl_secs,
                                 "store_deadline_ms": store_deadline_ms}
        self._settings: Optional[Dict[str, Any]] = None
        if any(value is not None for value in self._machine_options.values()):
            self._receive_settings()
        # The same settings held in Rust for the receive machine, without and with inbox mode.
        self._flow_settings: Dict[bool, Any] = {}
        # Notes about the handler's status already logged (once per receiver).
        self.warned: Set[str] = set()

    def _receive_settings(self) -> Dict[str, Any]:
        """The receive machine's settings as the core checked them (``api::receive_settings``)."""
        if self._settings is None:
            settings = {"provider": self.provider, "max_body_bytes": self._inner.max_body_bytes, "store": True,
                        **self._machine_options}
            self._settings = json.loads(_core.call("receive_settings", "[" + _options_json(settings) + "]", b""))
        return self._settings

    def _machine_settings(self, inbox: bool = False) -> Any:
        """The receive machine's settings (inbox mode: the store is an inbox), built once each."""
        settings = self._flow_settings.get(inbox)
        if settings is None:
            given = self._receive_settings()
            text = _options_json(dict(given, inbox=True) if inbox else given)
            settings = self._flow_settings[inbox] = _core.ReceiveSettings(text)
        return settings

    @property
    def max_body_bytes(self) -> int:
        """The body cap in bytes (1 MiB unless set)."""
        return self._inner.max_body_bytes

    def normalize(
        self,
        *,
        headers: Optional[HeadersLike],
        body: Optional[BodyLike],
        now: NowLike = None,
        method: str = "POST",
        url: Optional[str] = None,
    ) -> NormalizedEvent:
        # The per-call path: headers go to the extension as given (it reads a dict or list of
        # str pairs itself and hands any other shape back to _header_pairs), and the common
        # bytes body and int clock skip their conversion calls.
        if now is None and self.clock is not None:
            now = self.clock()
        # Returned as the extension gives it: a typing.cast here was a call per event.
        return self._inner.normalize(
            method,
            url,
            headers,
            body if type(body) is bytes else _body_bytes(body),
            now if type(now) is int else _now_seconds(now),
        )

    def verify(
        self,
        *,
        headers: Optional[HeadersLike],
        body: Optional[BodyLike],
        now: NowLike = None,
        method: str = "POST",
        url: Optional[str] = None,
    ) -> ProviderName:
        return self._inner.verify(method, url, headers, _body_bytes(body), _now_seconds(self._now(now)))

    def _seconds_now(self) -> int:
        """The clock's reading as UNIX seconds (the system clock's when none is set)."""
        now = self.clock() if self.clock is not None else None
        return now if type(now) is int else _now_seconds(now)

    def _now(self, now: NowLike) -> NowLike:
        return self.clock() if now is None and self.clock is not None else now

    def __repr__(self) -> str:
        # A Receiver whose construction raised is in that traceback's locals as `self`: its
        # repr must not raise for the slot never set.
        inner = getattr(self, "_inner", None)
        return "Receiver(<not built>)" if inner is None else repr(inner)


# normalize_event and verify are called with the same credentials request after request, and
# building their Receiver (the credentials' JSON, the core's parse of it, the HMAC key schedule
# on first use) cost more than the call it served: 7.0 µs a one-call delivery against 3.2 µs
# through a Receiver (bench/PROFILE.md). A Receiver is a pure function of its arguments, so the
# last few are kept, found again by the arguments' value (`_core.KeptReceivers`: exact types
# only, so `1 == True` cannot join two configurations): changed or rotated credentials (a new
# dict or the same one edited) are another key and get a Receiver of their own.
_ONE_SHOT_RECEIVERS = 16
_KEPT_RECEIVERS = _core.KeptReceivers(_ONE_SHOT_RECEIVERS)


# The credentials are named `credentials` in every frame below, the copy too: a refused
# configuration's traceback holds these frames, and error reporters hide a local by its name
# (Sentry's default scrubber takes `credentials`).
def _one_shot_receiver(
    provider: Optional[ProviderName],
    credentials: Union[Credentials, Mapping[str, Any], None],
    max_body_bytes: Optional[int] = None,
    public_url: Optional[str] = None,
    trust_forwarded_headers: Optional[bool] = None,
) -> "Receiver":
    """The one-call functions' Receiver: a kept one for arguments seen lately, else a new one."""
    # Annotated, not `typing.cast`: a cast is a call on every delivery (~40 ns).
    kept: Optional[Receiver] = _KEPT_RECEIVERS.find(provider, credentials, max_body_bytes, public_url,
                                                    trust_forwarded_headers)
    if kept is not None:
        return kept
    # Built from a copy: the caller may edit its dict later, and the kept copy must still be
    # what this receiver holds. A construction that raises is not kept.
    credentials, keepable = _KEPT_RECEIVERS.keepable(provider, credentials, max_body_bytes, public_url,
                                                     trust_forwarded_headers)
    receiver = Receiver(provider, credentials, max_body_bytes=max_body_bytes, public_url=public_url,
                        trust_forwarded_headers=trust_forwarded_headers)
    if keepable:
        _KEPT_RECEIVERS.keep(provider, credentials, max_body_bytes, public_url, trust_forwarded_headers, receiver)
    return receiver


def normalize_event(
    provider: Optional[ProviderName],
    *,
    headers: Optional[HeadersLike],
    body: Optional[BodyLike],
    credentials: Union[Credentials, Mapping[str, Any], None],
    now: NowLike = None,
    method: str = "POST",
    url: Optional[str] = None,
    max_body_bytes: Optional[int] = None,
    public_url: Optional[str] = None,
    trust_forwarded_headers: Optional[bool] = None,
) -> NormalizedEvent:
    """Verifies and normalizes one request; raises a :class:`WebhookError` subclass on failure."""
    receiver = _one_shot_receiver(provider, credentials, max_body_bytes, public_url, trust_forwarded_headers)
    return receiver.normalize(headers=headers, body=body, now=now, method=method, url=url)


def verify(
    provider: Optional[ProviderName],
    *,
    headers: Optional[HeadersLike],
    body: Optional[BodyLike],
    credentials: Union[Credentials, Mapping[str, Any], None],
    now: NowLike = None,
    method: str = "POST",
    url: Optional[str] = None,
) -> ProviderName:
    """Verifies only; returns the provider's name."""
    return _one_shot_receiver(provider, credentials).verify(headers=headers, body=body, now=now, method=method, url=url)


def parse(provider: ProviderName, body: BodyLike) -> Dict[str, Any]:
    """The provider's typed payload (unknown fields kept), without verification."""
    return cast(Dict[str, Any], _call("parse", provider, data=_body_bytes(body)))


def detect_provider(
    *, headers: Optional[HeadersLike], body: Optional[BodyLike], method: str = "POST", url: Optional[str] = None
) -> ProviderName:
    return cast(ProviderName, _call("detect_provider", method, url, _header_pairs(headers), data=_body_bytes(body)))


@dataclass(frozen=True)
class StatusRange:
    min: int
    max: int

    def __contains__(self, status: object) -> bool:
        return isinstance(status, int) and self.min <= status <= self.max


@dataclass(frozen=True)
class RetryPolicy:
    """How a provider redelivers webhooks."""

    provider: ProviderName
    documented: bool
    timeout: timedelta
    retry_delays: Tuple[timedelta, ...]
    jitter: bool
    max_deliveries: int
    retry_horizon: timedelta
    dedupe_ttl: timedelta
    in_progress_lease: timedelta
    ack_statuses: StatusRange
    permanent_failure_statuses: Optional[StatusRange]


def retry_policy(provider: ProviderName) -> RetryPolicy:
    """How ``provider`` redelivers webhooks (computed once per provider)."""
    return _cached_retry_policy(provider)


# The caches sit behind the public functions, not on them: a decorated function would show
# type checkers and help() the cache wrapper's `(*args: Hashable)` instead of its signature.
@functools.lru_cache(maxsize=None)
def _cached_retry_policy(provider: str) -> RetryPolicy:
    raw = _call("retry_policy", provider)
    permanent = raw["permanent_failure_statuses"]
    return RetryPolicy(
        provider=raw["provider"],
        documented=raw["documented"],
        timeout=timedelta(seconds=raw["timeout_secs"]),
        retry_delays=tuple(timedelta(seconds=s) for s in raw["retry_delays_secs"]),
        jitter=raw["jitter"],
        max_deliveries=raw["max_deliveries"],
        retry_horizon=timedelta(seconds=raw["retry_horizon_secs"]),
        dedupe_ttl=timedelta(seconds=raw["dedupe_ttl_secs"]),
        in_progress_lease=timedelta(seconds=raw["in_progress_lease_secs"]),
        ack_statuses=StatusRange(**raw["ack_statuses"]),
        permanent_failure_statuses=StatusRange(**permanent) if permanent else None,
    )


@dataclass(frozen=True)
class Ack:
    """The HTTP status to answer, and what the provider will do with it."""

    status: int
    provider_action: str


def ack(provider: ProviderName, outcome: Outcome) -> Ack:
    """The status to answer for ``outcome`` and what ``provider`` does with it."""
    return _cached_ack(provider, outcome)


@functools.lru_cache(maxsize=None)
def _cached_ack(provider: str, outcome: str) -> Ack:
    return Ack(**_call("ack", provider, outcome))


def ack_for_error(error: WebhookError, provider: Optional[ProviderName] = None) -> int:
    """The HTTP status to answer for a telhook error, as the core's receive contract decides it
    (405 wrong method, 413 too large, 401 forged, 400 unreadable, 500 misconfigured or no
    provider detected). Give the ``provider`` when you know it, as JavaScript's ``ackForError``
    takes it: to Lisoloo, which drops an event on any 4xx, a body over your cap is a 500."""
    step = {"step": "rejected", "provider": provider, "code": error.code}
    return cast(int, _call("decide", step)["status"])


def status_wins(current: Optional[DeliveryStatus], incoming: DeliveryStatus) -> bool:
    """Whether ``incoming`` may replace the stored ``current`` delivery status (None: nothing stored)."""
    return cast(bool, _call("status_wins", current, incoming))


def ledger_apply(state: Optional[LedgerState], event: Mapping[str, Any]) -> LedgerApplied:
    """The status ledger's merge rule: the new state of a message and the verdict
    (``applied``, ``stale`` or ``after_final``) for a normalized status event."""
    return cast(LedgerApplied, _call("ledger_apply", state, event))


def ledger_update(event: Mapping[str, Any]) -> StatusUpdate:
    """The flat values a store writes for a normalized status event."""
    return cast(StatusUpdate, _call("ledger_update", event))


@dataclass(frozen=True)
class CapturedRequest:
    method: str
    url: Optional[str]
    headers: List[Tuple[str, str]]
    body: bytes
    # The core's view of the request for repr: credentials' header and query values redacted.
    shown: str = field(default="", repr=False, compare=False)

    def __repr__(self) -> str:
        return _shown("CapturedRequest", self.shown, self.headers)


def _shown(kind: str, shown: str, headers: List[Tuple[str, str]]) -> str:
    """A request's repr: the core's view of it (``shown``); for one built by hand, which has
    none, its header names alone (their values may be credentials)."""
    if shown.startswith("WebhookRequest"):
        return kind + shown[len("WebhookRequest"):]
    names = ", ".join(name for name, _ in headers)
    return f"{kind} {{ headers: [{names}] }}"


def from_http_capture(capture: BodyLike) -> CapturedRequest:
    """A raw HTTP/1.1 capture (request line, headers, body), e.g. to replay it."""
    raw = _call("parse_http_capture", data=_body_bytes(capture))
    return CapturedRequest(
        method=raw["method"],
        url=raw["url"],
        headers=[(name, value) for name, value in raw["headers"]],
        body=base64.b64decode(raw["body_base64"]),
        shown=raw["shown"],
    )


__all__ = [
    "Ack", "Answer", "AsyncRedisStore", "CapturedRequest", "ConfigurationError", "DedupeStore", "DjangoCacheStore",
    "DjangoDatabaseStore", "MemoryStore", "ParseError", "Receiver", "RedisStore", "RequestError", "Response",
    "RetryPolicy", "StatusRange", "VerificationError", "WebhookError", "ack", "ack_for_error", "areceive", "decide",
    "detect_provider", "from_http_capture", "ledger_apply", "ledger_update", "normalize_event", "parse", "receive", "retry_policy", "status_wins",
    "verify",
]
