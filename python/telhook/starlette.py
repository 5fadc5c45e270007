"""Starlette and FastAPI integration: an endpoint decorator.

    from telhook.starlette import webhook

    @app.post("/hooks/lisoloo")
    @webhook("lisoloo", credentials=CREDENTIALS, store=AsyncRedisStore(redis.asyncio.Redis()))
    async def lisoloo_hook(request, event):
        await handle(event)

The decorated endpoint takes only the ``Request`` (FastAPI sees that signature). The body is
read from ``request.stream()`` with the cap enforced while reading; the handler can still
read it (``await request.json()``). The handler may be
``async def`` or ``def`` (a sync handler runs in Starlette's thread pool, off the event loop),
and may return an int status or its own Response (sent as is); any other return value (a dict,
a string) counts as success. Exceptions go to the "telhook" logger.
"""

from __future__ import annotations

import functools
import inspect
import logging
from typing import TYPE_CHECKING, Any, Awaitable, Callable, List, Mapping, Optional, Tuple, Union, cast

from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from . import Receiver
from ._receive import (Answer, Delivery, arun, decide, maybe_await, no_handler, refuse_unfit_signature,
                       request_target, unavailable_body)
from .stores import AnyDedupeStore, check_store
from .types import Credentials, NormalizedEvent, ProviderName

if TYPE_CHECKING:
    from .inbox import AnyInbox, Inbox

logger = logging.getLogger("telhook")

Handler = Callable[[Request, NormalizedEvent], Any]
Endpoint = Callable[[Request], Awaitable[Response]]


def _own_status(returned: object) -> Optional[int]:
    return returned.status_code if isinstance(returned, Response) else None


def _response(answer: Answer) -> Response:
    # Starlette adds no content type of its own, and no Content-Length to a 204 or 304.
    return Response(answer.body, status_code=answer.status, headers=dict(answer.headers))


def _client_gone(delivery: Delivery) -> Response:
    """The client hung up before its body was complete (Starlette's ClientDisconnect): nothing
    was claimed, the provider delivers again, and the answer reaches nobody. Told at info, not
    left to the server to log as an unhandled exception with its traceback."""
    logger.info("telhook: the client closed the connection before the body was complete; provider=%s",
                delivery.provider or "-")
    return _response(decide({"step": "rejected", "provider": None, "code": "internal"}))


def _scope_header_pairs(request: Request) -> List[Tuple[str, str]]:
    # What request.headers.items() gives (latin-1 names and values, every copy of a repeated
    # header), without building its Headers object first: ~2 µs a request.
    return [(name.decode("latin-1"), value.decode("latin-1")) for name, value in request.scope["headers"]]


def _give_inflated(request: Request, body: bytes) -> None:
    """A body sent gzipped, given back as the core inflated it, with headers that describe it
    (its handler's ``await request.json()`` failed on the gzip member: a 500 on every retry)."""
    request._body = body
    request.__dict__.pop("_json", None)
    headers = [(name, value) for name, value in request.scope["headers"]
               if name.lower() not in (b"content-encoding", b"content-length")]
    headers.append((b"content-length", str(len(body)).encode()))
    request.scope["headers"] = headers
    request.__dict__.pop("_headers", None)  # built from the scope's on first use


def _body(request: Request) -> Any:
    # request.stream() replays request.body() when it was read; once something else streamed
    # it (a form parser) it is spent (Starlette's `_stream_consumed`) and the raw body is gone.
    if getattr(request, "_stream_consumed", False) and not hasattr(request, "_body"):
        return unavailable_body()
    # A BaseHTTPMiddleware that streamed the body itself (request.stream(), request.form())
    # hands the app an empty body in its place: the core's machine answers a body shorter than
    # its Content-Length as consumed (500, the provider retries).
    return request.stream()


def webhook(
    provider: Optional[ProviderName],
    *,
    credentials: Union[Credentials, Mapping[str, Any], None],
    store: AnyDedupeStore,
    max_body_bytes: Optional[int] = None,
    public_url: Optional[str] = None,
    trust_forwarded_headers: Optional[bool] = None,
    clock: Optional[Callable[[], float]] = None,
    lease_secs: Optional[int] = None,
    dedupe_ttl_secs: Optional[int] = None,
    store_deadline_ms: Optional[int] = None,
) -> Callable[[Handler], Endpoint]:
    """Decorates ``handler(request, event)``; see the module docstring."""
    receiver = Receiver(provider, credentials, max_body_bytes=max_body_bytes, public_url=public_url,
                        trust_forwarded_headers=trust_forwarded_headers, clock=clock, lease_secs=lease_secs,
                        dedupe_ttl_secs=dedupe_ttl_secs, store_deadline_ms=store_deadline_ms)
    check_store(store)

    def decorator(handler: Handler) -> Endpoint:
        if not callable(handler):
            raise TypeError("@webhook decorates a handler: handler(request, event)")
        refuse_unfit_signature(handler, ("request", "event"),
                               "telhook.starlette.webhook calls handler(request, event)", more=False)

        is_async = inspect.iscoroutinefunction(handler)

        async def call(request: Request, event: NormalizedEvent, delivery: Delivery) -> object:
            # The body telhook read, given back for the handler's await request.json() /
            # request.body(): the stream is spent, and Starlette raises "Stream consumed".
            if delivery.inflated:
                _give_inflated(request, delivery.body)
            elif not hasattr(request, "_body"):
                request._body = delivery.body
            if is_async:
                return await handler(request, event)
            # A sync handler blocks: in Starlette's thread pool, never on the event loop. What it
            # returns may still be awaitable (an object whose __call__ is async).
            return await maybe_await(await run_in_threadpool(handler, request, event))

        @functools.wraps(handler)
        async def endpoint(request: Request) -> Response:
            delivery = Delivery(receiver, store, own_status=_own_status)
            url = request_target(request.url.path, request.url.query)
            headers = _scope_header_pairs(request)
            try:
                answer, own = await arun(
                    delivery,
                    request.method,
                    url,
                    headers,
                    _body(request),
                    lambda event: call(request, event, delivery),
                )
            except ClientDisconnect:
                return _client_gone(delivery)
            if own is not None:
                return own  # type: ignore[return-value]
            return _response(answer)

        # FastAPI reads the signature to inject arguments: the endpoint takes the Request only.
        endpoint.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
            [inspect.Parameter("request", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Request)]
        )
        return endpoint

    return decorator


class _ThreadedInbox:
    """A sync inbox (a database) used from an endpoint: its enqueue in the thread pool, so the
    event loop never blocks on it and the machine's store deadline can abandon it."""

    def __init__(self, inbox: "Inbox") -> None:
        self.inbox = inbox

    async def enqueue(self, key: str, event: NormalizedEvent, dedupe_ttl_secs: int) -> object:
        return await run_in_threadpool(self.inbox.enqueue, key, event, dedupe_ttl_secs)


def inbox_endpoint(
    provider: Optional[ProviderName],
    *,
    credentials: Union[Credentials, Mapping[str, Any], None],
    inbox: "AnyInbox",
    max_body_bytes: Optional[int] = None,
    public_url: Optional[str] = None,
    trust_forwarded_headers: Optional[bool] = None,
    clock: Optional[Callable[[], float]] = None,
    dedupe_ttl_secs: Optional[int] = None,
    store_deadline_ms: Optional[int] = None,
) -> Endpoint:
    """An endpoint that stores each verified event in ``inbox`` and answers at once (inbox
    mode, see telhook.inbox); a worker runs the handler later:
    ``app.add_api_route("/hooks/lisoloo", inbox_endpoint("lisoloo", credentials=…, inbox=inbox), methods=["POST"])``."""
    from .inbox import check_inbox

    receiver = Receiver(provider, credentials, max_body_bytes=max_body_bytes, public_url=public_url,
                        trust_forwarded_headers=trust_forwarded_headers, clock=clock,
                        dedupe_ttl_secs=dedupe_ttl_secs, store_deadline_ms=store_deadline_ms)
    check_inbox(inbox)
    chosen: Any = inbox if inspect.iscoroutinefunction(inbox.enqueue) else _ThreadedInbox(cast(Any, inbox))

    async def endpoint(request: Request) -> Response:
        delivery = Delivery(receiver, chosen, inbox=True)
        url = request_target(request.url.path, request.url.query)
        headers = _scope_header_pairs(request)
        try:
            answer, _ = await arun(delivery, request.method, url, headers, _body(request), no_handler)
        except ClientDisconnect:
            return _client_gone(delivery)
        return _response(answer)

    endpoint.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [inspect.Parameter("request", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Request)]
    )
    return endpoint


__all__ = ["inbox_endpoint", "webhook"]
