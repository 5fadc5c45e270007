"""The receive path: read the body under the cap, verify and normalize, claim, call the
handler, settle the claim, answer. Every status comes from the core's ``decide``; this module
only runs the steps and moves bytes. Framework adapters (telhook.django, telhook.flask,
telhook.starlette) are built from the same steps.
"""

from __future__ import annotations

import asyncio
import atexit
import functools
import inspect
import itertools
import json
import logging
import os
import sys
import threading
import time
from collections.abc import AsyncIterable, Iterable
from dataclasses import dataclass
from urllib.parse import quote
from typing import Any, Awaitable, Callable, Dict, List, Mapping, Optional, Protocol, Tuple, TypeVar, Union, cast

from . import _api, _core
from .errors import WebhookError
from .stores import AnyDedupeStore, check_store
from .types import NormalizedEvent, ProviderName

logger = logging.getLogger("telhook")

T = TypeVar("T")


class SupportsRead(Protocol):
    """A file-like body (``environ["wsgi.input"]``, an open file): read with ``read(n)``."""

    def read(self, size: int, /) -> bytes: ...


BodySource = Union[bytes, bytearray, memoryview, str, None, "SupportsRead", "Iterable[bytes]", "AsyncIterable[bytes]"]
HeaderPairs = List[Tuple[str, str]]
# What a framework adapter recognizes as its own response object: returns its status, or None.
OwnResponseStatus = Callable[[object], Optional[int]]
OnError = Callable[[BaseException, Optional[NormalizedEvent]], None]
READ_CHUNK = 64 * 1024


@dataclass(frozen=True)
class Response:
    """An HTTP answer: what :func:`telhook.receive` returns, and what a handler may return."""

    status: int
    headers: Tuple[Tuple[str, str], ...] = ()
    body: bytes = b""

    def header(self, name: str) -> Optional[str]:
        lowered = name.lower()
        return next((value for key, value in self.headers if key.lower() == lowered), None)


@dataclass(frozen=True)
class Answer:
    """The core's decision for the step that ended a delivery (see ``decide``)."""

    status: int
    code: str
    headers: Tuple[Tuple[str, str], ...]
    body: bytes
    provider_action: Optional[str]
    dedupe: str  # "none" | "complete" | "release"
    log: str  # "none" | "info" | "warning" | "error"

    def response(self) -> Response:
        return Response(self.status, self.headers, self.body)

    @functools.cached_property
    def has_content_type(self) -> bool:
        """False for the core's bodiless answers (a handler's 204 or 304): adapters whose
        framework adds a default content type remove it. Kept: answers are shared (`_answer`)."""
        return any(name.lower() == "content-type" for name, _ in self.headers)


@functools.lru_cache(maxsize=512)
def _decide_json(step_json: str) -> Answer:
    return _answer(json.loads(_core.call("decide", f"[{step_json}]", b"")))


def decide(step: Mapping[str, Any]) -> Answer:
    """The answer to a step (``{"step": "rejected" | "claimed" | "handled" | "store_failed", ...}``)."""
    return _decide_json(json.dumps(step, sort_keys=True, separators=(",", ":")))


_LEVELS = {"info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}


def log_answer(
    answer: Answer,
    provider: Optional[str],
    event_id: Optional[str],
    error: Optional[BaseException] = None,
    note: Optional[str] = None,
    receiver: Any = None,
) -> None:
    """One line per answer worth logging: provider, event id, code and the machine's note
    (why, in words). Never the body. A note about the handler's status is logged once per
    receiver: it repeats for every delivery until the handler is changed."""
    level = _LEVELS.get(answer.log)
    if level is None or not logger.isEnabledFor(level):
        return
    if note is not None and answer.code == "handler_status" and receiver is not None:
        warned = receiver.warned
        if note in warned:
            return
        warned.add(note)
    logger.log(
        level,
        "telhook %s: provider=%s event=%s status=%s%s",
        answer.code, provider or "-", event_id or "-", answer.status, f": {note}" if note else "",
        exc_info=(type(error), error, error.__traceback__) if error is not None else None,
        extra={"telhook_provider": provider, "telhook_event_id": event_id, "telhook_code": answer.code},
    )


# ------------------------------------------------------------------ reading the body


class BodyTooLarge(Exception):
    """Internal signal: the body went over the cap while it was read."""


class RawBodyUnavailable(Exception):
    """Something (a form parser, a middleware) consumed the request body before telhook: the
    signature cannot be checked. Answered 500 `raw_body_unavailable` (the provider retries once
    the app is fixed), never a 401 that makes a provider drop the event."""


def unavailable_body() -> Iterable[bytes]:
    """The body an adapter passes when the framework says the raw body is gone."""
    raise RawBodyUnavailable()
    yield b""  # pragma: no cover (makes this a generator: raised when read, not when called)


def chunked_body_unreadable(environ: Mapping[str, Any]) -> bool:
    """A chunked body (no Content-Length) on a WSGI server that does not decode it and says so
    by leaving out ``wsgi.input_terminated`` (``manage.py runserver``, wsgiref): Django and
    Werkzeug then read an empty body, which the core answers 400 (Lisoloo drops the event on
    it). The adapters answer 500 ``raw_body_unavailable`` instead, so the provider retries."""
    return (
        "wsgi.input" in environ  # ASGI servers hand Django the whole body
        and "HTTP_TRANSFER_ENCODING" in environ
        and not environ.get("CONTENT_LENGTH")
        and not environ.get("wsgi.input_terminated")
    )


def _chunk_bytes(chunk: object) -> bytes:
    if isinstance(chunk, bytes):
        return chunk
    if isinstance(chunk, (bytearray, memoryview)):
        return bytes(chunk)
    raise TypeError("body chunks must be bytes, bytearray or memoryview")


def read_capped(body: BodySource, cap: int) -> bytes:
    """The body as bytes, reading an iterable of chunks no further than ``cap`` + 1 bytes."""
    if body is None:
        return b""
    if isinstance(body, (bytes, bytearray, memoryview)):
        data = bytes(body)
    elif isinstance(body, str):
        data = body.encode("utf-8")
    elif callable(getattr(body, "read", None)):
        # A file (WSGI input, an upload): read(n) no further than cap + 1 bytes. Iterating it
        # would split on newlines and read it all.
        data = _read_file(cast(Any, body).read, cap)
    elif isinstance(body, Iterable):
        parts: List[bytes] = []
        size = 0
        for chunk in body:
            part = _chunk_bytes(chunk)
            size += len(part)
            if size > cap:
                raise BodyTooLarge()
            parts.append(part)
        data = b"".join(parts)
    else:
        raise TypeError("body must be bytes, str, a file with read(n), an iterable of bytes chunks (receive) or an async iterable (areceive)")
    if len(data) > cap:
        raise BodyTooLarge()
    return data


def _read_file(read: Callable[[int], object], cap: int) -> bytes:
    parts: List[bytes] = []
    size = 0
    while size <= cap:
        part = _chunk_bytes(read(min(READ_CHUNK, cap + 1 - size)))
        if not part:
            break
        size += len(part)
        parts.append(part)
    if size > cap:
        raise BodyTooLarge()
    return b"".join(parts)


async def aread_capped(body: BodySource, cap: int) -> bytes:
    if not isinstance(body, AsyncIterable):
        return read_capped(body, cap)
    parts: List[bytes] = []
    size = 0
    async for chunk in body:
        part = _chunk_bytes(chunk)
        size += len(part)
        if size > cap:
            raise BodyTooLarge()
        parts.append(part)
    return b"".join(parts)


class _DeclaredLength:
    """A file body read no further than its declared Content-Length. PEP 3333: an application
    must not read past CONTENT_LENGTH, and a server need not give EOF there (wsgiref hands the
    socket itself): a read(n) for the cap + 1 bytes then waits for bytes the client never sends,
    until the provider gives up on the delivery."""

    __slots__ = ("_read", "_left")

    def __init__(self, read: Callable[[int], object], length: int) -> None:
        self._read, self._left = read, length

    def read(self, size: int) -> object:
        if self._left <= 0:
            return b""
        part = self._read(min(size, self._left))
        if isinstance(part, (bytes, bytearray, memoryview)):
            self._left -= len(part)
        return part


def declared_length(headers: HeaderPairs) -> Optional[int]:
    """The request's Content-Length when it declares exactly one, in digits (as the core reads
    it; the core judges the rest: a conflicting or unreadable one, or one over the cap)."""
    values = {value.strip() for name, value in headers if name.lower() == "content-length"}
    if len(values) != 1:
        return None
    (value,) = values
    return int(value) if value.isascii() and value.isdigit() else None


def within_declared_length(body: BodySource, headers: HeaderPairs) -> BodySource:
    """A file body bounded by the request's Content-Length, when it declares one (a length over
    the cap is refused before anything is read)."""
    if isinstance(body, (bytes, bytearray, memoryview, str)) or body is None or isinstance(body, AsyncIterable):
        return body
    read = getattr(body, "read", None)
    length = declared_length(headers) if callable(read) else None
    return body if length is None else cast(BodySource, _DeclaredLength(cast(Callable[[int], object], read), length))


# What RFC 3986 lets a path hold as is (Django's `escape_uri_path`, which `get_full_path` uses).
_PATH_SAFE = "/:@&+$,-_.!~*'()"


def request_target(decoded_path: str, raw_query: Union[str, bytes]) -> str:
    """The request's path and query as they went over the wire, from a framework's decoded path
    (WSGI's SCRIPT_NAME + PATH_INFO, ASGI's root_path + path) and the query as received. Twilio
    signs the URL it calls: a path that holds an escape (``/t/caf%C3%A9/sms``, ``/a%20b``)
    checked in its decoded form was refused 401, which Twilio does not retry. Re-encoded as
    Django's ``get_full_path`` does, so every Python adapter hands the core the same URL."""
    path = quote(decoded_path, safe=_PATH_SAFE)
    query = raw_query.decode("latin-1") if isinstance(raw_query, bytes) else raw_query
    return f"{path}?{query}" if query else path


def stream_reader(read: Callable[[int], bytes]) -> Iterable[bytes]:
    """Chunks from a file-like ``read(n)`` (WSGI input, Django and Flask request streams)."""
    while True:
        chunk = read(READ_CHUNK)
        if not chunk:
            return
        yield chunk


# ------------------------------------------------------------------ the receive machine


# The JSON texts of the steps that repeat from delivery to delivery ("body_read", "claimed" +
# "new", "settled", a handler's status...): json.dumps is ~1.5 µs, four steps a delivery (the
# normalize step is taken inside the core's flow). The table stops growing at 64. Keyed by the
# items (True == 1 as a key: no field of a step holds a bool in one delivery and an int in
# another).
_STEP_TEXTS: Dict[Tuple[Tuple[str, object], ...], str] = {}


def _json(step: Dict[str, object]) -> str:
    if step["input"] == "body_read":  # its length differs from delivery to delivery
        return '{"input": "body_read", "length": %d}' % cast(int, step["length"])
    key = tuple(step.items())
    try:
        text = _STEP_TEXTS.get(key)
    except TypeError:  # a value that is no str, int, bool or None: not kept
        return json.dumps(step)
    if text is None:
        # With its default arguments json.dumps reuses one encoder; others build one per call.
        text = json.dumps(step)
        if len(_STEP_TEXTS) < 64:
            _STEP_TEXTS[key] = text
    return text


def _fresh_token_prefix() -> None:
    global _token_prefix
    _token_prefix = os.urandom(8).hex()


_token_prefix = ""
_fresh_token_prefix()
if hasattr(os, "register_at_fork"):  # a forked worker (gunicorn) draws its own
    os.register_at_fork(after_in_child=_fresh_token_prefix)
_token_serials = itertools.count()


def _new_token() -> str:
    """A claim token unique across processes and deliveries: 16 random hex digits drawn once a
    process, then a serial (32 characters, the Django store's column; uuid4 costs ~1.8 µs, an
    os.urandom call, every delivery). It names an owner; nothing outside the process guesses it."""
    return f"{_token_prefix}{next(_token_serials) & 0xFFFFFFFFFFFFFFFF:016x}"


class Delivery:
    """One request's way through the core's receive machine (``receive::machine``): the
    machine decides every step and every answer; this class only does the I/O it asks for."""

    __slots__ = ("receiver", "store", "on_error", "own_status", "event", "token", "flow", "action", "failure", "settings",
                 "refusal", "body", "inflated")

    def __init__(
        self,
        receiver: Any,
        store: AnyDedupeStore,
        *,
        on_error: Optional[OnError] = None,
        own_status: Optional[OwnResponseStatus] = None,
        inbox: bool = False,
    ) -> None:
        self.receiver = receiver
        # Inbox mode (telhook.inbox): the store is an inbox, the machine asks it to enqueue.
        self.settings = receiver._machine_settings(inbox)
        self.store = store
        self.on_error = on_error
        self.own_status = own_status
        self.event: Optional[NormalizedEvent] = None
        # The owner of this delivery's claim: a late complete/release never touches another's.
        self.token = _new_token()
        self.flow: Any = None
        self.action: Dict[str, Any] = {}
        # What failed (the handler's or the store's exception), for the log line.
        self.failure: Optional[BaseException] = None
        # Why the core refused the request, in its words (static text, never a request value;
        # Twilio's names the URL checked), logged with the code as Node's onError logs it.
        self.refusal: Optional[str] = None
        # The body as the loop read it. An adapter gives it back to the request its handler
        # reads: a framework's stream is spent once read, and a handler calling
        # request.get_json() / await request.json() / request.body would fail on every delivery.
        self.body = b""
        # Whether `body` is the core's inflation of a body sent gzipped: given back over any copy
        # a framework kept of the gzip member, with headers that say what it now is.
        self.inflated = False

    def start(self, method: str, url: Optional[str], headers: HeaderPairs) -> Dict[str, Any]:
        self.flow, self.action = _core.Flow.start(self.settings, method, headers, url)
        return self.action

    def read(self, body: BodySource, max_bytes: int) -> Dict[str, object]:
        """The read step: the body under the cap, kept; the machine's input for it."""
        step, self.body = read_input(body, max_bytes)
        return step

    async def aread(self, body: BodySource, max_bytes: int) -> Dict[str, object]:
        step, self.body = await aread_input(body, max_bytes)
        return step

    def next(self, step: Dict[str, object]) -> Dict[str, Any]:
        self.action = self.flow.next(_json(step))
        return self.action

    @property
    def provider(self) -> Optional[str]:
        return cast(Optional[str], self.flow.provider) if self.flow is not None else None

    @property
    def event_id(self) -> Optional[str]:
        return self.event["id"] if self.event is not None else None

    def normalize(self, body: bytes) -> Dict[str, Any]:
        """The normalize step, taken by the core's flow with the start's method, URL and
        headers: the next action; the event, or why the request was refused."""
        try:
            now = self.receiver._seconds_now()
        except WebhookError as error:  # a clock reading the core refuses, as normalize would
            return self.next(self.refused(error))
        self.action, self.event, refused = self.flow.normalize(self.receiver._inner, body, now)
        if refused is not None:
            self.refusal = str(refused)
        elif (inflated := self.flow.take_inflated_body()) is not None:
            self.body, self.inflated = inflated, True
        return self.action

    def refused(self, error: WebhookError) -> Dict[str, object]:
        """The machine's input for a request the core refused."""
        self.refusal = str(error)
        return {"input": "refused", "code": error.code}

    def store_call(self, action: Dict[str, Any]) -> Callable[[], object]:
        """The store call an action asks for."""
        store = cast(Any, self.store)
        kind, key = action["action"], action["key"]
        if kind == "claim":
            return lambda: store.claim(key, self.token, action["lease_secs"])
        if kind == "enqueue":
            return lambda: store.enqueue(key, self.event, action["dedupe_ttl_secs"])
        if kind == "complete":
            return lambda: store.complete(key, self.token, action["ttl_secs"])
        return lambda: store.release(key, self.token)

    def store_input(self, action: Dict[str, Any], result: object, error: Optional[BaseException]) -> Dict[str, object]:
        kind = action["action"]
        if error is not None:
            timed_out = isinstance(error, (asyncio.TimeoutError, TimeoutError))
            if timed_out and isinstance(error.__context__, asyncio.CancelledError):
                # The deadline's own timeout: the machine's note says so, and its traceback (the
                # cancel inside the store's call, chained) was logged at ERROR for every 503.
                error = TimeoutError(f"store.{kind} did not answer within store_deadline_ms")
            self.failure = error
            return {"input": "store_failed" if kind in ("claim", "enqueue") else "settle_failed", "timed_out": timed_out}
        if kind == "enqueue":
            return {"input": "enqueued", "state": _state_text(result)}
        return {"input": "claimed", "state": _state_text(result)} if kind == "claim" else {"input": "settled"}

    def handled_input(self, returned: object) -> Tuple[Dict[str, object], object]:
        """The machine's input for the handler's return value, and its own response to send."""
        # Only an int (not a bool) is a status and only a response object is a response: any
        # other value (a FastAPI dict, a Flask string) is the handler succeeding, as in Node.
        returned_synchronously(returned)
        if isinstance(returned, Response):
            return {"input": "handled", "status": _status_number(returned.status, "Response.status")}, returned
        if isinstance(returned, int) and not isinstance(returned, bool):
            return {"input": "handled", "status": _status_number(returned, "the handler's return")}, None
        if self.own_status is not None and (found := self.own_status(returned)) is not None:
            return {"input": "handled", "status": _status_number(found, "own_status")}, returned
        if self.own_status is None and (found := _foreign_status(returned)) is not None:
            # receive/areceive: a framework's response (aiohttp, Werkzeug, Starlette, Django...)
            # the handler chose a status with. Taken as success, its 503 was a 200 and the event
            # marked done; its status is the handler's, answered as an int return is.
            return {"input": "handled", "status": _status_number(found, "the handler's response")}, None
        return {"input": "handled", "status": None}, None

    def handler_failed(self, error: BaseException) -> Dict[str, object]:
        self.failure = error
        if self.on_error is not None:
            try:
                self.on_error(error, self.event)
            except Exception:  # a failing hook must not change the answer
                logger.exception("telhook on_error hook failed")
        return {"input": "handler_failed"}

    def answered(self, own: object) -> Tuple[Answer, object]:
        """The machine's answer, logged; the handler's own response replaces it only when the
        answer is the handler's (its status or its success)."""
        answer = _answer(self.action["answer"])
        if answer.log != "none":  # most answers: their log line's fields are not looked up
            log_answer(answer, self.provider, self.event_id, self.failure, self.action.get("note") or self.refusal,
                       self.receiver)
        return answer, own if answer.code in ("handler_status", "accepted") else None


def _foreign_status(returned: object) -> Optional[int]:
    """The int status of a framework's response object (one with ``headers`` and an int
    ``status_code``: Werkzeug, Starlette, Django; or ``status``: aiohttp, Sanic), or None."""
    if returned is None or isinstance(returned, (str, bytes, int, float, dict, list)):
        return None
    if not hasattr(returned, "headers"):  # a response has headers; a model's `status` column is not one
        return None
    for name in ("status_code", "status"):
        found = getattr(returned, name, None)
        if isinstance(found, int) and not isinstance(found, bool):
            return found
    return None


def _state_text(state: object) -> str:
    """A store's answer as the state text the machine reads, without running any of the
    value's own methods: a str as its plain text, anything else (None, a list, a str that is
    no UTF-8: a lone surrogate) as a text outside the machine's vocabulary, whose rule answers
    it (the store failed) instead of the input failing to cross with the claim held."""
    if isinstance(state, str):
        text = str.__str__(state)  # a subclass's own __eq__/__hash__ never runs on the step
        if text.isascii():
            return text
        try:
            text.encode("utf-8")
            return text
        except UnicodeEncodeError:
            pass
    return "<not a state>"


# The machine's inputs carry a status as a 64-bit integer; any int beyond is as far outside
# 100-599 as the core's rule needs to answer it (the handler failed). A status that is no int
# at all fails as the handler, as in Node.
def _status_number(status: object, source: str) -> int:
    if not isinstance(status, int) or isinstance(status, bool):
        raise TypeError(f"{source}: expected an int status")
    status = int.__index__(status)  # a plain int: a subclass's own methods never run on the step
    return status if -(2**63) <= status < 2**63 else -1


# The machine's answers come from small vocabularies (statuses, codes, a few bodies): each is
# built once (a frozen dataclass costs ~1.5 µs) and shared, the table bounded.
_ANSWERS: Dict[Tuple[object, ...], Answer] = {}


def _answer(raw: Dict[str, Any]) -> Answer:
    key = (raw["status"], raw["code"], raw["body"], raw["provider_action"], raw["dedupe"], raw["log"],
           tuple(map(tuple, raw["headers"])))
    answer = _ANSWERS.get(key)
    if answer is None:
        answer = _new_answer(raw)
        if len(_ANSWERS) < 512:
            _ANSWERS[key] = answer
    return answer


def _new_answer(raw: Dict[str, Any]) -> Answer:
    return Answer(
        status=raw["status"],
        code=raw["code"],
        headers=tuple((name, value) for name, value in raw["headers"]),
        body=raw["body"].encode("utf-8"),
        provider_action=raw["provider_action"],
        dedupe=raw["dedupe"],
        log=raw["log"],
    )


def read_input(body: BodySource, max_bytes: int) -> Tuple[Dict[str, object], bytes]:
    try:
        data = read_capped(body, max_bytes)
    except BodyTooLarge:
        return {"input": "body_too_large"}, b""
    except RawBodyUnavailable:
        return {"input": "body_unavailable"}, b""
    # The machine compares the length with the cap and with the declared Content-Length.
    return {"input": "body_read", "length": len(data)}, data


async def aread_input(body: BodySource, max_bytes: int) -> Tuple[Dict[str, object], bytes]:
    try:
        data = await aread_capped(body, max_bytes)
    except BodyTooLarge:
        return {"input": "body_too_large"}, b""
    except RawBodyUnavailable:
        return {"input": "body_unavailable"}, b""
    return {"input": "body_read", "length": len(data)}, data


# ------------------------------------------------------------------ sync and async loops


def run(
    delivery: Delivery,
    method: str,
    url: Optional[str],
    headers: HeaderPairs,
    body: BodySource,
    call: Callable[[NormalizedEvent], object],
) -> Tuple[Answer, object]:
    """One delivery, synchronously: the store's own timeouts bound its calls (a sync call
    cannot be abandoned); the handler runs in this thread. The loop runs in the extension
    (``_core.run_delivery``: one crossing a delivery), calling back ``read_step`` and this
    delivery's methods for the steps' Python sides."""
    own = _core.run_delivery(delivery, method, url, headers, body, call)
    return delivery.answered(own)


def store_step(delivery: Delivery, action: Dict[str, Any], *, release_if_failed: bool = True) -> Dict[str, object]:
    """The store call the action asks for, and the machine's input for how it went (the sync
    loops': a claim that raised is released in the background unless `release_if_failed` is
    false, as for a claim in a transaction that its failure rolls back)."""
    try:
        return delivery.store_input(action, delivery.store_call(action)(), None)
    except Exception as error:
        if action["action"] == "claim" and release_if_failed:
            release_failed_claim(delivery, action)
        elif action["action"] in ("complete", "release"):
            settle_failed(delivery, action)
        return delivery.store_input(action, None, error)


# Threads releasing a failed sync claim (see `release_failed_claim`), and apart, threads trying a
# failed settling call again (`settle_failed`: an outage's claim releases must not take the slots
# of the done marks, whose loss runs a handler twice), at most this many of each at once.
MAX_RELEASING_THREADS = 64
_releasing_threads = threading.BoundedSemaphore(MAX_RELEASING_THREADS)
_settling_threads = threading.BoundedSemaphore(MAX_RELEASING_THREADS)


def _fresh_releasing_threads() -> None:
    """A forked worker starts with none of its parent's release threads running, and none of
    their tries to report at its exit (a review: a child logged its parent's)."""
    global _releasing_threads, _settling_threads, _tries_lock, _tries_in_threads
    _releasing_threads = threading.BoundedSemaphore(MAX_RELEASING_THREADS)
    _settling_threads = threading.BoundedSemaphore(MAX_RELEASING_THREADS)
    _tries_lock = threading.Lock()
    _tries_in_threads = set()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_fresh_releasing_threads)


def release_failed_claim(delivery: Delivery, claim: Dict[str, Any]) -> None:
    """Called when a sync claim raised (by the extension's loop, ``_core.run_delivery``, and
    by ``store_step``). Never raises: the delivery's 503 must still go out.

    A sync claim that failed may have landed (a client timeout after the server ran it):
    unreleased, it would turn every redelivery within its lease away as in progress. The core's
    ``receive::orphan`` machine says when to release it (at +0, +1 and +6 s), as on the async
    path; a request thread cannot wait those seconds, so the releases run in a daemon thread."""
    _orphan_calls_in_background(delivery, {"input": "failed"}, claim, "telhook-release-claim")


def settle_failed(delivery: Delivery, settling: Dict[str, Any], store: object = None) -> None:
    """Called when a sync ``complete`` or ``release`` raised (by the extension's loop, by
    ``store_step``, and by a done mark written on commit). Never raises: the handler's answer
    must still go out.

    The key keeps the bare claim: redeliveries are answered in progress until its lease ends,
    and then — if the provider never got the answer — the handler runs a second time. The
    orphan machine has the call tried again until one holds, in a daemon thread (on ``store``
    when given: the store behind the delivery's own)."""
    _orphan_calls_in_background(delivery, {"input": "settle_failed", "action": settling["action"]}, settling,
                                "telhook-settle-claim", store)


def _orphan_calls(delivery: Delivery, action: Dict[str, Any], store: object = None) -> Dict[str, Callable[[], object]]:
    """The calls the orphan machine may ask for, with the delivery's key and token (on
    ``store``, else the delivery's)."""
    key, token, target = action["key"], delivery.token, cast(Any, store if store is not None else delivery.store)
    calls: Dict[str, Callable[[], object]] = {"release": lambda: target.release(key, token)}
    if action["action"] == "complete":
        ttl_secs = action["ttl_secs"]
        calls["complete"] = lambda: target.complete(key, token, ttl_secs)
    return calls


def _slots_for(first: Mapping[str, object]) -> threading.BoundedSemaphore:
    """The thread slots of an orphan's tries: a claim's releases (it failed, or landed late) apart
    from a settling call's tries, whose loss runs a handler twice."""
    return _settling_threads if first["input"] == "settle_failed" else _releasing_threads


def _orphan_calls_in_background(delivery: Delivery, first: Mapping[str, object], action: Dict[str, Any],
                                thread_name: str, store: object = None, seconds: Optional[float] = None) -> None:
    try:
        calls = _orphan_calls(delivery, action, store)
        step = _api.call("orphaned_claim", None, first)
        if step["action"]["action"] not in calls:
            return
        # A store that is down fails every call: past the bound, claims are left to their lease.
        _tries_in_a_thread(calls, step, delivery, _slots_for(first), seconds, thread_name,
                           f"no thread could try it: at most {MAX_RELEASING_THREADS} at a time")
    except Exception:
        logger.exception("telhook: settling a claim in the background could not start")


def _orphan_calls_in_thread(calls: Dict[str, Callable[[], object]], step: Dict[str, Any], delivery: Delivery,
                            slots: threading.BoundedSemaphore, seconds: Optional[float] = None) -> None:
    """The orphan machine's calls, each after its wait, in a daemon thread; an async store's
    call runs in an event loop of the thread's own, within ``seconds``. Until they end, the
    step reached is in ``_tries_in_threads``, for the process's exit to tell."""
    pending = _PendingTries(delivery, step)
    with _tries_lock:
        _tries_in_threads.add(pending)
    try:
        while step["action"]["action"] in calls:
            kind = step["action"]["action"]
            time.sleep(step["action"]["after_ms"] / 1000)
            if _exiting.is_set():
                return  # the exit told what this thread had not done: it stops, and says no more
            try:
                answer = calls[kind]()
                if inspect.isawaitable(answer):
                    asyncio.run(_awaited_within(seconds, answer))
                outcome = f"{kind}d"
            except Exception:
                outcome = f"{kind}_failed"
            step = pending.step = _api.call("orphaned_claim", step["state"], {"input": outcome})
        if not _exiting.is_set():
            _log_orphan_done(step, delivery)
    finally:
        with _tries_lock:
            _tries_in_threads.discard(pending)
        slots.release()
        _close_thread_connections()


class _PendingTries:
    """A daemon thread's orphan tries: the delivery and the step reached."""

    __slots__ = ("delivery", "step")

    def __init__(self, delivery: Delivery, step: Dict[str, Any]) -> None:
        self.delivery = delivery
        self.step = step


_tries_lock = threading.Lock()
_tries_in_threads: "set[_PendingTries]" = set()
# Set when the interpreter exits: the threads try no more and tell nothing (the exit told it).
_exiting = threading.Event()


def _tell_tries_cut_short_by_exit() -> None:
    """At the interpreter's exit daemon threads stop where they are: each orphan whose tries had
    not ended is logged (a done mark never written runs the handler again after its lease; a
    review found the exit silent), and the threads stop trying, so that what was logged stays
    true while later exit handlers run (and is logged once)."""
    _exiting.set()
    with _tries_lock:
        pending = list(_tries_in_threads)
        _tries_in_threads.clear()
    for tries in pending:
        try:
            _log_orphan_done(_api.call("orphaned_claim", tries.step["state"], {
                "input": "stopped", "reason": "the process exited before its tries ended"}), tries.delivery)
        except Exception:  # noqa: BLE001 - the exit goes on whatever one report does
            pass


# Registered after logging's own handler, so it runs before logging shuts down (atexit is LIFO).
atexit.register(_tell_tries_cut_short_by_exit)


async def _awaited_within(seconds: Optional[float], awaitable: Awaitable[object]) -> object:
    return await (awaitable if seconds is None else _within(seconds, awaitable))


def _close_thread_connections() -> None:
    """Django opens a database connection per thread (DjangoDatabaseStore's release did) and
    closes none when a thread ends: closed here, as Django's own LiveServerThread does."""
    db = sys.modules.get("django.db")
    if db is not None:
        try:
            db.connections.close_all()
        except Exception:
            pass


def settle_after_abort(delivery: Delivery) -> None:
    """The handler was aborted (not failed): release its claim, so a redelivery is handled."""
    action = delivery.next({"input": "handler_failed"})
    if action["action"] == "release":
        try:
            delivery.store_call(action)()
        except Exception:
            settle_failed(delivery, action)


def read_step(delivery: Delivery, body: BodySource, max_bytes: int) -> Tuple[str, bytes]:
    """The body under the cap (kept on the delivery) and the JSON text of the machine's input
    for it; called back by the extension's loop."""
    return _json(delivery.read(body, max_bytes)), delivery.body


async def arun(
    delivery: Delivery,
    method: str,
    url: Optional[str],
    headers: HeaderPairs,
    body: BodySource,
    call: Callable[[NormalizedEvent], object],
) -> Tuple[Answer, object]:
    """One delivery under asyncio: every store call is abandoned after the machine's
    deadline, and a started handler is shielded — if the request is cancelled (the provider
    hung up), the handler still runs to completion and its outcome settles the claim."""
    action = delivery.start(method, url, headers)
    while action["action"] not in ("answer", "call_handler"):
        kind = action["action"]
        if kind == "read_body":
            step = await delivery.aread(body, action["max_bytes"])
        elif kind == "normalize":
            action = delivery.normalize(delivery.body)
            continue
        else:
            step = await astore_step(delivery, action)
        action = delivery.next(step)
    if action["action"] == "answer":
        return delivery.answered(None)
    loop = asyncio.get_running_loop()
    answered: "asyncio.Future[Tuple[Answer, object]]" = loop.create_future()
    _handlers.add(loop.create_task(_handle_apart(delivery, call, answered)))
    try:
        return await answered
    except asyncio.CancelledError:
        logger.warning("telhook: the request was cancelled; provider=%s event=%s: its handler runs on to "
                       "completion and settles the claim (unless the process exits first: a server's forced "
                       "shutdown leaves the claim to its lease)", delivery.provider, delivery.event_id)
        raise


async def _handle_apart(
    delivery: Delivery, call: Callable[[NormalizedEvent], object], answered: "asyncio.Future[Tuple[Answer, object]]"
) -> None:
    try:
        outcome = await ahandle(delivery, call)
    except BaseException as error:
        if not answered.done():
            answered.set_exception(error)
        raise
    else:
        if not answered.done():
            answered.set_result(outcome)
    finally:
        _handlers.discard(asyncio.current_task())


# Handlers running on after their request was cancelled (see `arun`).
_handlers: "set[asyncio.Task[None]]" = set()


async def astore_step(delivery: Delivery, action: Dict[str, Any]) -> Dict[str, object]:
    seconds = action["deadline_ms"] / 1000
    if action["action"] != "claim":
        try:
            result = await _within(seconds, delivery.store_call(action)())
        except Exception as error:
            if action["action"] != "enqueue":
                # Failed or cut off at its deadline (either may have landed: the calls are
                # idempotent), a settling call is tried again in the background.
                _orphan_task(_orphan_calls(delivery, action), {"input": "settle_failed", "action": action["action"]},
                             delivery, action["deadline_ms"])
            return delivery.store_input(action, None, error)
        return delivery.store_input(action, result, None)
    try:
        result = await _within_or_late(seconds, delivery.store_call(action)(), _release_unowned_claim(delivery, action))
    except Exception as error:
        return delivery.store_input(action, None, error)
    return delivery.store_input(action, result, None)


def _release_unowned_claim(delivery: Delivery, claim: Dict[str, Any]) -> Callable[[object], None]:
    """For a claim whose delivery was answered 503 (it failed, or answered past the deadline)
    or cancelled: a claim that landed then has no owner, and every redelivery within its lease
    would be turned away as in progress. What it answered, or the error it failed with, goes to
    the core's ``receive::orphan`` machine, which says when to release it with its token (a
    release of a claim another delivery holds does nothing); the releases run in the
    background."""
    calls = _orphan_calls(delivery, claim)

    def landed(state: object) -> None:
        if isinstance(state, asyncio.CancelledError):
            # The event loop ended with the claim still running (one loop per request: its end
            # cancels it): it may have landed, and no task of that loop would run now. Released
            # after every wait, as a failed claim is, from a thread.
            _orphan_calls_in_background(delivery, {"input": "failed"}, claim, "telhook-release-claim",
                                        seconds=claim["deadline_ms"] / 1000)
            return
        outcome = {"input": "failed"} if isinstance(state, BaseException) else {"input": "landed", "state": _state_text(state)}
        _orphan_task(calls, outcome, delivery, claim["deadline_ms"])

    return landed


def _orphan_task(calls: Dict[str, Callable[[], object]], first: Mapping[str, object], delivery: Delivery,
                 deadline_ms: int) -> None:
    """The orphan machine's calls in a task of the running event loop. If the loop ends first
    (one loop per request: asyncio.run, asgiref's async_to_sync under WSGI), the task is
    cancelled — before its first step, or in a wait — and the rest go on in a daemon thread,
    each call an async store makes run in an event loop of its own there: cut short, a done mark
    that failed once left the key to its lease, and the handler ran again after it."""
    step = _api.call("orphaned_claim", None, first)
    if step["action"]["action"] in calls:
        slots = _slots_for(first)
        seconds = deadline_ms / 1000
        progress = {"step": step}
        task = asyncio.ensure_future(_run_orphan_calls(calls, progress, delivery, seconds))

        def cut_short(done: "asyncio.Future[None]") -> None:
            # The call in flight, if any, is tried again in the thread: the calls are
            # idempotent with the delivery's token.
            if done.cancelled():
                _tries_in_a_thread(calls, progress["step"], delivery, slots, seconds, "telhook-settle-claim",
                                   "its tries were cut short: the event loop ended and no thread could go on")

        task.add_done_callback(cut_short)
        _keep_until_done(task)


async def _run_orphan_calls(calls: Dict[str, Callable[[], object]], progress: Dict[str, Dict[str, Any]],
                            delivery: Delivery, seconds: float) -> None:
    """Does the orphan machine's calls, each after its wait and within ``seconds`` (a call on a
    dead connection must not hang the rest), until it is done; ``progress`` holds the step
    reached, for a thread to go on from if the task is cancelled."""
    step = progress["step"]
    while step["action"]["action"] in calls:
        kind = step["action"]["action"]
        if step["action"]["after_ms"]:
            await asyncio.sleep(step["action"]["after_ms"] / 1000)
        try:
            await _within(seconds, calls[kind]())
            outcome = f"{kind}d"
        except Exception:
            outcome = f"{kind}_failed"
        step = progress["step"] = _api.call("orphaned_claim", step["state"], {"input": outcome})
    _log_orphan_done(step, delivery)


def _tries_in_a_thread(calls: Dict[str, Callable[[], object]], step: Dict[str, Any], delivery: Delivery,
                       slots: threading.BoundedSemaphore, seconds: Optional[float], thread_name: str,
                       no_thread: str) -> None:
    """The orphan machine's calls from ``step`` on, in a daemon thread of ``slots``; when none can
    run, the machine's last word with ``no_thread`` as the reason."""
    if slots.acquire(blocking=False):
        try:
            threading.Thread(target=_orphan_calls_in_thread, args=(calls, step, delivery, slots, seconds),
                             name=thread_name, daemon=True).start()
            return
        except RuntimeError:  # no thread (a process limit, the interpreter shutting down)
            slots.release()
    _log_orphan_done(_api.call("orphaned_claim", step["state"], {"input": "stopped", "reason": no_thread}), delivery)


def _log_orphan_done(step: Dict[str, Any], delivery: Delivery) -> None:
    """The orphan machine's last word, if it has one, logged as the delivery's store failure was
    (the core names its code and status; Node tells onError the same)."""
    done = step["action"]
    level = _LEVELS.get(done["log"])
    if level is not None and done["note"]:
        logger.log(level, "telhook %s: provider=%s event=%s status=%s: %s", done["code"], delivery.provider or "-",
                   delivery.event_id or "-", done["status"], done["note"],
                   extra={"telhook_provider": delivery.provider, "telhook_event_id": delivery.event_id,
                          "telhook_code": done["code"]})


def _keep_until_done(task: "asyncio.Future[Any]") -> None:
    """A task nobody awaits, held until it ends; its failure is read, so never reported."""
    _late_calls.add(task)
    task.add_done_callback(_forget_late_call)


def _forget_late_call(task: "asyncio.Future[Any]") -> None:
    _late_calls.discard(task)
    if not task.cancelled():
        task.exception()


# Store calls running on past their deadline (a claim, to be released if it lands), at most
# MAX_LATE_CALLS at a time.
_late_calls: "set[asyncio.Future[Any]]" = set()
MAX_LATE_CALLS = 1024


async def _within_or_late(seconds: float, awaitable: object, landed_late: Callable[[object], None]) -> Any:
    """``_within`` for a call that must not be cut short: a claim cancelled mid-flight may
    still land in the store, and nobody would know to release it. It runs in a task of its
    own, past the deadline (or the request's cancellation) if it must, and what it answers
    then, or an error it failed with at any time, goes to ``landed_late``.

    Unlike ``_within``, a coroutine is not started here and resumed in that task: whatever it
    set up in its first step would be bound to the wrong task or context (an
    ``asyncio.timeout`` cancels the task it was entered in; asgiref's thread-sensitive
    ``sync_to_async`` marks its thread busy in the context it started in, and the next store
    call there was refused, "would deadlock"). The price is one turn of the event loop for a
    store that answers at once."""
    if not inspect.isawaitable(awaitable):  # a sync store's answer
        return awaitable
    pending: "asyncio.Future[Any]" = asyncio.ensure_future(awaitable)
    try:
        return await _bounded(seconds, asyncio.shield(pending))
    except BaseException as error:
        if pending.done() and not pending.cancelled() and pending.exception() is error:
            # The call itself failed in time; it may have landed all the same (a client
            # timeout after the server ran it).
            landed_late(error)
            raise
        # Past the deadline or cancelled: what the call answers, now or later, goes to
        # `landed_late` (it may have answered in the same turn as the timeout). A store that
        # never answers must not hold a task per delivery forever: past a bound, cut short.
        # Tasks of event loops closed without finishing them never end: not counted.
        _late_calls.difference_update([task for task in _late_calls if task.get_loop().is_closed()])
        if not pending.done() and len(_late_calls) >= MAX_LATE_CALLS:
            pending.cancel()
            raise
        _keep_until_done(pending)
        # Cancelled, it never answers: the event loop is ending (the shield keeps the request's
        # own cancellation off it), and `landed_late` hears of it as a CancelledError.
        pending.add_done_callback(
            lambda done: landed_late(asyncio.CancelledError() if done.cancelled() or _cancel_requested(done)
                                     else done.exception() or done.result())
        )
        raise


def _cancel_requested(task: "asyncio.Future[Any]") -> bool:
    """Whether ``task`` was asked to cancel (Python 3.11's ``Task.cancelling``) — by an event loop
    tearing down, and it answered all the same (a store that swallows the cancellation): a task
    made now in that loop would never run (a review), so its landing goes to a thread."""
    cancelling = getattr(task, "cancelling", None)
    return callable(cancelling) and bool(cancelling())


async def _within(seconds: float, awaitable: Union[T, Awaitable[T]]) -> T:
    """``awaitable``, abandoned (TimeoutError) after ``seconds``. A coroutine is started here
    and, when it answers without waiting (an in-memory store, a cache hit), returned at once:
    a deadline costs ~5 µs (``asyncio.timeout``'s timer) and ``wait_for`` up to 3.11 two turns
    of the event loop, twice a delivery. Only one that waits runs on under the deadline."""
    if not inspect.iscoroutine(awaitable):
        if not inspect.isawaitable(awaitable):  # a sync store's answer
            return awaitable
        return await _bounded(seconds, awaitable)
    try:
        waiting_on = awaitable.send(None)
    except StopIteration as answered:
        return cast(T, answered.value)
    return await _bounded(seconds, _Resumed(awaitable, waiting_on))


class _Resumed:
    """The rest of a coroutine that has already run to its first wait (``waiting_on``, what it
    yielded to the event loop): awaiting this passes that wait, and every later one, on to the
    task, and sends back (or throws in, a cancellation) what the task answers."""

    __slots__ = ("coroutine", "waiting_on")

    def __init__(self, coroutine: Any, waiting_on: object) -> None:
        self.coroutine = coroutine
        self.waiting_on = waiting_on

    def __await__(self) -> Any:
        waiting_on = self.waiting_on
        while True:
            try:
                answer = yield waiting_on
            except BaseException as thrown:
                try:
                    waiting_on = self.coroutine.throw(thrown)
                except StopIteration as done:
                    return done.value
            else:
                try:
                    waiting_on = self.coroutine.send(answer)
                except StopIteration as done:
                    return done.value


if sys.version_info >= (3, 11):

    async def _bounded(seconds: float, awaitable: Awaitable[T]) -> T:
        # In this task: up to 3.11, wait_for runs it in a task of its own.
        async with asyncio.timeout(seconds):  # novm (Python 3.11+ only: see the version check)
            return await awaitable

else:  # pragma: no cover (Python 3.9 and 3.10)

    async def _bounded(seconds: float, awaitable: Awaitable[T]) -> T:
        return await asyncio.wait_for(awaitable, seconds)


async def ahandle(delivery: Delivery, call: Callable[[NormalizedEvent], object]) -> Tuple[Answer, object]:
    """The handler, then the settling of its claim: run as one task that outlives a cancel."""
    own: object = None
    try:
        step, own = delivery.handled_input(await maybe_await(call(cast(NormalizedEvent, delivery.event))))
    except (Exception, asyncio.CancelledError) as error:
        # A CancelledError out of the handler (an inner task it awaited was cancelled) is its
        # failure: its claim is released, or every redelivery would be turned away as in
        # progress for the whole lease. This task itself is never cancelled by a request's end
        # (it runs apart, see `arun`); at the loop's shutdown the release runs on the way out.
        step = delivery.handler_failed(error)
    action = delivery.next(step)
    while action["action"] != "answer":
        action = delivery.next(await astore_step(delivery, action))
    return delivery.answered(own)


async def maybe_await(value: Union[T, Awaitable[T]]) -> T:
    if inspect.isawaitable(value):
        return await cast(Awaitable[T], value)
    return value


def is_async_callable(handler: object) -> bool:
    """Whether calling ``handler`` gives a coroutine: an ``async def``, or an object whose
    ``__call__`` is one."""
    return inspect.iscoroutinefunction(handler) or inspect.iscoroutinefunction(getattr(handler, "__call__", None))


def refuse_async(handler: object, what: str = "handler") -> None:
    """Refuses, where a sync path will call ``handler``, an ``async def`` one: it would return
    a coroutine that nothing awaits, and the event would count as handled without its body
    ever running (a TypeError at construction, before any event is taken)."""
    if is_async_callable(handler):
        raise TypeError(
            f"{what} is an async function, and this path calls it without an event loop: use "
            "telhook.areceive, an async adapter (telhook.starlette), or a plain def"
        )


def refuse_unfit_signature(handler: object, passed: Tuple[str, ...], form: str, *, more: bool) -> None:
    """Refuses, at decoration, a handler that cannot take the positional arguments its adapter
    passes (``passed``: their names, in order; ``more``: whether keyword arguments such as URL
    values may follow): every delivery would fail with a TypeError in the handler's place, and
    Twilio and the DID reseller send no retries (a review: a Flask view written ``(request,
    event)`` as the Django and FastAPI adapters take it). A parameter named like one of
    ``passed`` at another place is that other form copied, so it is refused too."""
    try:
        # The signature of what the adapter calls: a decorator's wrapper that supplies arguments
        # of its own (a session, a tenant) carries its inner function in `__wrapped__`, whose
        # signature is not what it takes (a review).
        signature = inspect.signature(handler, follow_wrapped=False)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return  # a callable whose signature Python cannot read: nothing to check
    arguments = [object()] * len(passed)
    try:
        if more:
            signature.bind_partial(*arguments)
        else:
            signature.bind(*arguments)
    except TypeError:
        raise TypeError(f"{form}: the handler's signature {signature} cannot take it") from None
    positional = [
        parameter for parameter in signature.parameters.values()
        if parameter.kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    ]
    for place, parameter in enumerate(positional):
        if parameter.name in passed and passed.index(parameter.name) != place:
            raise TypeError(
                f"{form}: the handler's signature {signature} has {parameter.name!r} where "
                f"{passed[place] if place < len(passed) else 'a keyword argument'} is passed"
            )


def returned_synchronously(returned: T) -> T:
    """What a handler called synchronously returned; an awaitable (an async handler behind a
    sync wrapper) raises as the handler's failure, so the event is retried, not marked done."""
    if inspect.isawaitable(returned):
        if inspect.iscoroutine(returned):
            returned.close()  # no "never awaited" warning: this error says it
        raise TypeError(
            "the handler returned an awaitable, which this sync path cannot await: the event "
            "was not handled (use telhook.areceive or an async adapter, or a plain def)"
        )
    return returned


def no_handler(event: NormalizedEvent) -> None:
    """The handler of inbox mode's request path, which never calls one (a worker does)."""
    raise AssertionError("inbox mode never calls a handler on the request path")


def checked_delivery(
    receiver: object, method: object, headers: Any, handler: object, store: AnyDedupeStore, *, sync: bool
) -> Tuple[Delivery, str, HeaderPairs]:
    """The arguments of receive/areceive checked (programmer errors are TypeErrors)."""
    from . import Receiver, _header_pairs

    if not isinstance(receiver, Receiver):
        raise TypeError("receiver must be a telhook.Receiver")
    if not isinstance(method, str):
        raise TypeError("method must be a str")
    if not callable(handler):
        raise TypeError("handler must be callable: handler(event)")
    if sync:
        refuse_async(handler)
    check_store(store)
    return Delivery(receiver, store), method, _header_pairs(headers)


def receive(
    receiver: Any,
    *,
    method: str,
    url: Optional[str],
    headers: Any,
    body: BodySource,
    handler: Callable[[NormalizedEvent], object],
    store: AnyDedupeStore,
) -> Response:
    """Handles one delivery and returns the response to send (see the module docstring)."""
    delivery, method, pairs = checked_delivery(receiver, method, headers, handler, store, sync=True)
    body = within_declared_length(body, pairs)
    answer, own = run(delivery, method, url, pairs, body, handler)
    return cast(Response, own) if own is not None else answer.response()


async def areceive(
    receiver: Any,
    *,
    method: str,
    url: Optional[str],
    headers: Any,
    body: BodySource,
    handler: Callable[[NormalizedEvent], object],
    store: AnyDedupeStore,
) -> Response:
    """:func:`receive` for asyncio: the body may be an async iterable of chunks, the handler and
    the store's methods may be coroutines."""
    delivery, method, pairs = checked_delivery(receiver, method, headers, handler, store, sync=False)
    body = within_declared_length(body, pairs)
    answer, own = await arun(delivery, method, url, pairs, body, handler)
    return cast(Response, own) if own is not None else answer.response()
