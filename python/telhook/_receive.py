"""The receive path: read the body under the cap, verify and normalize, claim, call the
handler, settle the claim, answer. Every status comes from the core's ``decide``; this module
only runs the steps and moves bytes. Framework adapters (telhook.django, telhook.flask,
telhook.starlette) are built from the same steps.
"""

from __future__ import annotations

import functools
import inspect
import json
import logging
import uuid
from collections.abc import AsyncIterable, Iterable
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Dict, List, Mapping, Optional, Protocol, Tuple, TypeVar, Union, cast

from . import _core
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

    @property
    def has_content_type(self) -> bool:
        """False for the core's bodiless answers (a handler's 204 or 304): adapters whose
        framework adds a default content type remove it."""
        return any(name.lower() == "content-type" for name, _ in self.headers)


@functools.lru_cache(maxsize=512)
def _decide_json(step_json: str) -> Answer:
    raw = json.loads(_core.call("decide", f"[{step_json}]"))
    return Answer(
        status=raw["status"],
        code=raw["code"],
        headers=tuple((name, value) for name, value in raw["headers"]),
        body=raw["body"].encode("utf-8"),
        provider_action=raw["provider_action"],
        dedupe=raw["dedupe"],
        log=raw["log"],
    )


def decide(step: Mapping[str, Any]) -> Answer:
    """The answer to a step (``{"step": "rejected" | "claimed" | "handled" | "store_failed", ...}``)."""
    return _decide_json(json.dumps(step, sort_keys=True, separators=(",", ":")))


def rejected(provider: Optional[str], code: str) -> Answer:
    return decide({"step": "rejected", "provider": provider, "code": code})


def handled_failed(provider: str) -> Answer:
    return decide({"step": "handled", "provider": provider, "outcome": "failed"})


_LEVELS = {"info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}


def log_answer(
    answer: Answer, provider: Optional[str], event_id: Optional[str], error: Optional[BaseException] = None
) -> None:
    """One line per answer worth logging: provider, event id, code. Never the body."""
    level = _LEVELS.get(answer.log)
    if level is None or not logger.isEnabledFor(level):
        return
    logger.log(
        level,
        "telhook %s: provider=%s event=%s status=%s",
        answer.code, provider or "-", event_id or "-", answer.status,
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


def header_value(headers: HeaderPairs, name: str) -> Optional[str]:
    return next((value for key, value in headers if key.lower() == name), None)


def declared_too_large(headers: HeaderPairs, cap: int) -> bool:
    declared = header_value(headers, "content-length")
    if declared is None:
        return False
    declared = declared.strip()
    # ASCII digits only, as the core and Node read it: "²".isdigit() is true but int() raises.
    return declared.isascii() and declared.isdigit() and int(declared) > cap


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


def stream_reader(read: Callable[[int], bytes]) -> Iterable[bytes]:
    """Chunks from a file-like ``read(n)`` (WSGI input, Django and Flask request streams)."""
    while True:
        chunk = read(READ_CHUNK)
        if not chunk:
            return
        yield chunk


# ------------------------------------------------------------------ the steps


class Delivery:
    """One request's way through the steps; adapters call these in order."""

    __slots__ = ("receiver", "store", "on_error", "own_status", "event", "provider", "claimed", "token")

    def __init__(
        self,
        receiver: Any,
        store: AnyDedupeStore,
        *,
        on_error: Optional[OnError] = None,
        own_status: Optional[OwnResponseStatus] = None,
    ) -> None:
        self.receiver = receiver
        self.store = store
        self.on_error = on_error
        self.own_status = own_status
        self.event: Optional[NormalizedEvent] = None
        self.provider: Optional[str] = receiver.provider
        self.claimed = False
        # The owner of this delivery's claim: a late complete/release never touches another's.
        self.token = uuid.uuid4().hex

    # 2. method and size; 3. verify and normalize
    def before_body(self, method: str, headers: HeaderPairs) -> Optional[Answer]:
        if method.upper() != "POST":
            return self._reject("method_not_allowed")
        if declared_too_large(headers, self.receiver.max_body_bytes):
            return self._reject("body_too_large")
        return None

    def too_large(self) -> Answer:
        return self._reject("body_too_large")

    def body_unavailable(self) -> Answer:
        return self._reject("raw_body_unavailable")

    def normalize(self, method: str, url: Optional[str], headers: HeaderPairs, body: bytes) -> Optional[Answer]:
        try:
            self.event = self.receiver.normalize(headers=headers, body=body, method=method, url=url)
        except WebhookError as error:
            return self._reject(error.code)
        self.provider = self.event["provider"]
        return None

    def _reject(self, code: str) -> Answer:
        answer = rejected(self.provider, code)
        log_answer(answer, self.provider, None)
        return answer

    # 4. claim
    def lease_secs(self) -> int:
        from . import retry_policy

        return int(retry_policy(cast(ProviderName, self.provider)).in_progress_lease.total_seconds())

    def claim_answer(self, state: object) -> Optional[Answer]:
        if state == "new":
            self.claimed = True
            return None
        if state not in ("in_progress", "done"):
            return self.store_failed(TypeError("store.claim must return 'new', 'in_progress' or 'done'"))
        answer = decide({"step": "claimed", "provider": self.provider, "state": state})
        log_answer(answer, self.provider, self.event_id)
        return answer

    def store_failed(self, error: BaseException) -> Answer:
        answer = decide({"step": "store_failed", "provider": self.provider})
        log_answer(answer, self.provider, self.event_id, error)
        return answer

    @property
    def event_id(self) -> Optional[str]:
        return self.event["id"] if self.event is not None else None

    # 5. the handler's result
    def handled(self, returned: object) -> Tuple[Answer, object]:
        """The answer to the handler's return value, and the handler's own response to send."""
        # Only an int (not a bool) is a status and only a response object is a response: any
        # other value (a FastAPI dict, a Flask string) is the handler succeeding, as in Node.
        own: object = None
        status: Optional[int] = None
        if isinstance(returned, Response):
            own, status = returned, returned.status
        elif isinstance(returned, int) and not isinstance(returned, bool):
            status = returned
        elif self.own_status is not None and (found := self.own_status(returned)) is not None:
            own, status = returned, found
        if status is not None and not 100 <= status <= 599:
            return self.failed(ValueError("the handler's status must be an int from 100 to 599")), None
        step: Dict[str, object]
        if status is None:
            step = {"step": "handled", "provider": self.provider, "outcome": "ok"}
        else:
            step = {"step": "handled", "provider": self.provider, "status": status}
        answer = decide(step)
        log_answer(answer, self.provider, self.event_id)
        return answer, own

    def failed(self, error: BaseException) -> Answer:
        answer = handled_failed(cast(str, self.provider))
        log_answer(answer, self.provider, self.event_id, error)
        if self.on_error is not None:
            try:
                self.on_error(error, self.event)
            except Exception:  # a failing hook must not change the answer
                logger.exception("telhook on_error hook failed")
        return answer

    # 6. settle the claim (failures are logged: the answer already reflects the handler)
    def settle_failed(self, error: BaseException) -> None:
        logger.error(
            "telhook dedupe_unavailable: provider=%s event=%s could not settle the claim",
            self.provider, self.event_id, exc_info=(type(error), error, error.__traceback__),
            extra={"telhook_provider": self.provider, "telhook_event_id": self.event_id,
                   "telhook_code": "dedupe_unavailable"},
        )

    def dedupe_ttl_secs(self) -> int:
        from . import retry_policy

        return int(retry_policy(cast(ProviderName, self.provider)).dedupe_ttl.total_seconds())


# ------------------------------------------------------------------ sync and async runs


def settle(delivery: Delivery, answer: Answer) -> None:
    if not delivery.claimed or answer.dedupe == "none":
        return
    store = cast(Any, delivery.store)
    try:
        if answer.dedupe == "complete":
            store.complete(delivery.event_id, delivery.token, delivery.dedupe_ttl_secs())
        else:
            store.release(delivery.event_id, delivery.token)
    except Exception as error:
        delivery.settle_failed(error)


async def asettle(delivery: Delivery, answer: Answer) -> None:
    if not delivery.claimed or answer.dedupe == "none":
        return
    store = cast(Any, delivery.store)
    try:
        if answer.dedupe == "complete":
            await maybe_await(store.complete(delivery.event_id, delivery.token, delivery.dedupe_ttl_secs()))
        else:
            await maybe_await(store.release(delivery.event_id, delivery.token))
    except Exception as error:
        delivery.settle_failed(error)


async def maybe_await(value: Union[T, Awaitable[T]]) -> T:
    if inspect.isawaitable(value):
        return await cast(Awaitable[T], value)
    return value


def claim(delivery: Delivery) -> Optional[Answer]:
    try:
        state = cast(Any, delivery.store).claim(delivery.event_id, delivery.token, delivery.lease_secs())
    except Exception as error:
        return delivery.store_failed(error)
    return delivery.claim_answer(state)


async def aclaim(delivery: Delivery) -> Optional[Answer]:
    try:
        state = await maybe_await(cast(Any, delivery.store).claim(delivery.event_id, delivery.token, delivery.lease_secs()))
    except Exception as error:
        return delivery.store_failed(error)
    return delivery.claim_answer(state)


def call_handler(delivery: Delivery, call: Callable[[NormalizedEvent], object]) -> Tuple[Answer, object]:
    """Runs the handler; the claim is released if anything (even SystemExit) escapes it."""
    try:
        returned = call(cast(NormalizedEvent, delivery.event))
    except Exception as error:
        return delivery.failed(error), None
    except BaseException:
        settle(delivery, handled_failed(cast(str, delivery.provider)))
        raise
    return delivery.handled(returned)


async def acall_handler(delivery: Delivery, call: Callable[[NormalizedEvent], object]) -> Tuple[Answer, object]:
    try:
        returned = await maybe_await(call(cast(NormalizedEvent, delivery.event)))
    except Exception as error:
        return delivery.failed(error), None
    except BaseException:  # cancelled (client gone, shutdown): let the next attempt in
        await asettle(delivery, handled_failed(cast(str, delivery.provider)))
        raise
    return delivery.handled(returned)


def prepare(delivery: Delivery, method: str, url: Optional[str], headers: HeaderPairs, body: BodySource) -> Optional[Answer]:
    """Steps 2 and 3: method, size (read under the cap), verify and normalize."""
    answer = delivery.before_body(method, headers)
    if answer is not None:
        return answer
    try:
        data = read_capped(body, delivery.receiver.max_body_bytes)
    except BodyTooLarge:
        return delivery.too_large()
    except RawBodyUnavailable:
        return delivery.body_unavailable()
    return delivery.normalize(method, url, headers, data)


async def aprepare(
    delivery: Delivery, method: str, url: Optional[str], headers: HeaderPairs, body: BodySource
) -> Optional[Answer]:
    answer = delivery.before_body(method, headers)
    if answer is not None:
        return answer
    try:
        data = await aread_capped(body, delivery.receiver.max_body_bytes)
    except BodyTooLarge:
        return delivery.too_large()
    except RawBodyUnavailable:
        return delivery.body_unavailable()
    return delivery.normalize(method, url, headers, data)


def run(
    delivery: Delivery,
    method: str,
    url: Optional[str],
    headers: HeaderPairs,
    body: BodySource,
    call: Callable[[NormalizedEvent], object],
) -> Tuple[Answer, object]:
    answer = prepare(delivery, method, url, headers, body) or claim(delivery)
    if answer is not None:
        return answer, None
    answer, own = call_handler(delivery, call)
    settle(delivery, answer)
    return answer, own


async def arun(
    delivery: Delivery,
    method: str,
    url: Optional[str],
    headers: HeaderPairs,
    body: BodySource,
    call: Callable[[NormalizedEvent], object],
) -> Tuple[Answer, object]:
    answer = await aprepare(delivery, method, url, headers, body) or await aclaim(delivery)
    if answer is not None:
        return answer, None
    answer, own = await acall_handler(delivery, call)
    await asettle(delivery, answer)
    return answer, own


def checked_delivery(
    receiver: object, method: object, headers: Any, handler: object, store: AnyDedupeStore
) -> Tuple[Delivery, str, HeaderPairs]:
    """The arguments of receive/areceive checked (programmer errors are TypeErrors)."""
    from . import Receiver, _header_pairs

    if not isinstance(receiver, Receiver):
        raise TypeError("receiver must be a telhook.Receiver")
    if not isinstance(method, str):
        raise TypeError("method must be a str")
    if not callable(handler):
        raise TypeError("handler must be callable: handler(event)")
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
    delivery, method, pairs = checked_delivery(receiver, method, headers, handler, store)
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
    delivery, method, pairs = checked_delivery(receiver, method, headers, handler, store)
    answer, own = await arun(delivery, method, url, pairs, body, handler)
    return cast(Response, own) if own is not None else answer.response()
