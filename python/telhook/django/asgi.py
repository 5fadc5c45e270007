"""Django under ASGI: telhook's body cap before Django reads the body.

Django's ASGI handler reads a request's whole body (to a temporary file) before any view runs,
so ``@webhook``'s cap only applies after a 20 MiB body has been received. Wrap the ASGI
application to apply it while the body streams in, on the webhook paths only::

    # asgi.py
    from django.core.asgi import get_asgi_application
    from telhook.django.asgi import WebhookBodyCap

    application = WebhookBodyCap(get_asgi_application(), paths=["/hooks/"])

The core's receive machine decides: a declared length over the cap is answered 413 before
anything is read, and a streamed (chunked) body is cut off and answered 413 as soon as it goes
over. Other paths pass through untouched. Under WSGI (gunicorn) the decorator alone caps the
body while streaming; this middleware is only for ASGI.
"""
from __future__ import annotations

from typing import Any, Awaitable, Callable, Dict, List, MutableMapping, Optional, Sequence

from .. import _core
from .._receive import _json

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class WebhookBodyCap:
    """ASGI middleware: the webhook paths' body cap, applied while the body is received."""

    def __init__(self, application: ASGIApp, *, paths: Sequence[str], max_body_bytes: Optional[int] = None) -> None:
        from .. import Receiver

        if isinstance(paths, str) or not paths or not all(isinstance(p, str) and p.startswith("/") for p in paths):
            raise TypeError('paths must be a list of path prefixes such as ["/hooks/"]')
        self.application = application
        self.paths = tuple(paths)
        # The same checks and default as a Receiver's (the core's), without credentials.
        self.settings = Receiver(None, {"insecure_skip_verification": True},
                                 max_body_bytes=max_body_bytes)._machine_settings()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(self.paths):
            await self.application(scope, receive, send)
            return
        headers = [(name.decode("latin-1"), value.decode("latin-1")) for name, value in scope["headers"]]
        flow, action = _core.Flow.start(self.settings, scope["method"], headers)
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
