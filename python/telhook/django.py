"""Django integration: a view decorator that verifies, normalizes, dedupes and acknowledges.

    from django.conf import settings
    from telhook.django import webhook

    @webhook("limephone", credentials=settings.TELHOOK["limephone"])
    def limephone_hook(request, event):
        handle(event)          # called once per event, never for a forgery or a redelivery

The answer is the status telhook's ``ack`` chooses for the provider: 200 for accepted and
duplicate events, 401 for a forgery, 400 for an unreadable body, 500 when the view fails (so
the provider retries; the dedupe key is released first) or telhook is misconfigured.

Dedupe uses Django's cache framework with ``cache.add(key, 1, timeout=dedupe_ttl)``, which is
atomic on the Redis and Memcached backends: of two concurrent deliveries, exactly one wins.
To use a durable store instead (a database table with a unique key, say), pass
``dedupe=`` any object with ``add(key: str, ttl_seconds: int) -> bool`` (False when the key
already exists) and ``delete(key: str) -> None``.
"""

from __future__ import annotations

import functools
import json
from typing import Any, Callable, Mapping, Optional, Protocol, Union

from django.core.cache import caches
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.views.decorators.csrf import csrf_exempt

from . import Receiver, ack, ack_for_error, retry_policy
from .errors import RequestError, WebhookError
from .types import Credentials, NormalizedEvent, ProviderName

KEY_PREFIX = "telhook:"


class DedupeStore(Protocol):
    def add(self, key: str, ttl_seconds: int) -> bool: ...

    def delete(self, key: str) -> None: ...


class CacheDedupe:
    """Dedupe on a Django cache alias; atomic where the backend's ``add`` is (Redis, Memcached)."""

    def __init__(self, alias: str = "default") -> None:
        self.alias = alias

    def add(self, key: str, ttl_seconds: int) -> bool:
        return bool(caches[self.alias].add(KEY_PREFIX + key, 1, timeout=ttl_seconds))

    def delete(self, key: str) -> None:
        caches[self.alias].delete(KEY_PREFIX + key)


View = Callable[[HttpRequest, NormalizedEvent], Any]


def _error_response(status: int, code: str) -> HttpResponse:
    return HttpResponse(json.dumps({"error": code}), status=status, content_type="application/json")


def webhook(
    provider: Optional[ProviderName],
    *,
    credentials: Union[Credentials, Mapping[str, Any], None],
    dedupe: Optional[DedupeStore] = None,
    cache_alias: str = "default",
    max_body_bytes: Optional[int] = None,
) -> Callable[[View], Callable[[HttpRequest], HttpResponse]]:
    """Decorates ``view(request, event)``; see the module docstring."""
    receiver = Receiver(provider, credentials, max_body_bytes=max_body_bytes)
    store: DedupeStore = dedupe if dedupe is not None else CacheDedupe(cache_alias)

    def decorator(view: View) -> Callable[[HttpRequest], HttpResponse]:
        @csrf_exempt
        @functools.wraps(view)
        def wrapper(request: HttpRequest) -> HttpResponse:
            if request.method != "POST":
                return HttpResponseNotAllowed(["POST"])
            try:
                body = request.body  # raw bytes; Django enforces DATA_UPLOAD_MAX_MEMORY_SIZE here
            except RequestDataTooBig:
                too_big = RequestError("body exceeds DATA_UPLOAD_MAX_MEMORY_SIZE", "body_too_large", "request")
                return _error_response(ack_for_error(too_big), too_big.code)
            try:
                event = receiver.normalize(
                    headers=request.headers, body=body, method=request.method, url=request.get_full_path()
                )
            except WebhookError as error:
                return _error_response(ack_for_error(error), error.code)
            ttl = int(retry_policy(event["provider"]).dedupe_ttl.total_seconds())
            if not store.add(event["id"], ttl):
                return HttpResponse(status=ack(event["provider"], "duplicate").status)
            try:
                view(request, event)
            except Exception:
                # Forget the key so that the provider's redelivery is processed, not dropped.
                store.delete(event["id"])
                return _error_response(ack(event["provider"], "internal_error").status, "internal_error")
            return HttpResponse(status=ack(event["provider"], "accepted").status)

        return wrapper

    return decorator


__all__ = ["CacheDedupe", "DedupeStore", "webhook"]
