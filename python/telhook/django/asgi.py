"""Django under ASGI: telhook's body cap before Django reads the body.

Django's ASGI handler reads a request's whole body (to a temporary file) before any view runs,
so ``@webhook``'s cap only applies after a 20 MiB body has been received. Wrap the ASGI
application to apply it while the body streams in, on the webhook paths only::

    # asgi.py
    from django.core.asgi import get_asgi_application
    from telhook.django.asgi import WebhookBodyCap

    application = WebhookBodyCap(get_asgi_application(),
                                 paths={"/hooks/limephone": "limephone", "/hooks/lisoloo": "lisoloo"})

The core's receive machine decides: a declared length over the cap is answered before anything
is read, and a streamed (chunked) body is cut off and answered as soon as it goes over — 413, or
500 to Lisoloo, which drops an event on any 4xx. Name each path prefix's provider, as above, for
its own answer; a list of prefixes (``paths=["/hooks/"]``) does not say whose body it is, so it
is answered 500 (it may be Lisoloo's). Other paths pass through untouched. Under WSGI (gunicorn)
the decorator alone caps the body while streaming; this middleware is only for ASGI.
"""
from __future__ import annotations

from typing import Any, Awaitable, Callable, Dict, List, Mapping, MutableMapping, Optional, Sequence, Tuple, Union

from .. import _core
from .._receive import _json
from ..types import ProviderName

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class WebhookBodyCap:
    """ASGI middleware: the webhook paths' body cap, applied while the body is received."""

    def __init__(self, application: ASGIApp, *, paths: Union[Mapping[str, Optional[ProviderName]], Sequence[str]],
                 max_body_bytes: Optional[int] = None) -> None:
        from .. import Receiver

        by_provider: Dict[str, Optional[ProviderName]] = (
            dict(paths) if isinstance(paths, Mapping) else
            {} if isinstance(paths, str) else {prefix: None for prefix in paths})
        if not by_provider or not all(isinstance(p, str) and p.startswith("/") for p in by_provider):
            raise TypeError('paths must map path prefixes to their providers, such as {"/hooks/lisoloo": "lisoloo"}, '
                            'or list them: ["/hooks/"]')
        self.application = application
        # The same checks and default as a Receiver's (the core's), without credentials; the
        # provider chooses the answer to a body over the cap. Longest prefix first.
        self.paths: Tuple[Tuple[str, Any], ...] = tuple(
            (prefix, Receiver(provider, {"insecure_skip_verification": True},
                              max_body_bytes=max_body_bytes)._machine_settings())
            for prefix, provider in sorted(by_provider.items(), key=lambda item: -len(item[0])))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        settings = None
        if scope["type"] == "http":
            settings = next((chosen for prefix, chosen in self.paths if scope["path"].startswith(prefix)), None)
        if settings is None:
            await self.application(scope, receive, send)
            return
        headers = [(name.decode("latin-1"), value.decode("latin-1")) for name, value in scope["headers"]]
        flow, action = _core.Flow.start(settings, scope["method"], headers)
        if action["action"] == "answer":  # refused before the body (over the declared cap, a GET)
            await _send(send, action["answer"])
            return
        limit = action["max_bytes"]
        received = 0
        over = False

        async def capped() -> Message:
            nonlocal received, over
            if over:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # Django stops on a disconnect (RequestAborted) and sends nothing.
                    over = True
                    return {"type": "http.disconnect"}
            return message

        await self.application(scope, capped, send)
        if over:
            action = flow.next(_json({"input": "body_too_large"}))
            await _send(send, action["answer"])


async def _send(send: Send, answer: Dict[str, Any]) -> None:
    body = answer["body"].encode("utf-8")
    headers: List[List[bytes]] = [[name.encode("latin-1"), value.encode("latin-1")] for name, value in answer["headers"]]
    headers.append([b"content-length", str(len(body)).encode()])
    headers.append([b"connection", b"close"])  # the rest of an oversized body is not read
    await send({"type": "http.response.start", "status": answer["status"], "headers": headers})
    await send({"type": "http.response.body", "body": body})
