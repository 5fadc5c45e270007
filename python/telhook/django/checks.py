"""System checks: telhook.W001, the dedupe cache must be shared by every worker and atomic;
telhook.E001, an async @webhook view must not run under ATOMIC_REQUESTS."""

from __future__ import annotations

from typing import AbstractSet, Any, List, Optional, Set

from django.conf import settings
from django.core import checks

# Cache aliases that @webhook dedupes on; filled as views are decorated.
CACHE_ALIASES: Set[str] = set()

NOT_SHARED = {
    "django.core.cache.backends.locmem.LocMemCache": "lives in one process (each worker dedupes alone)",
    "django.core.cache.backends.dummy.DummyCache": "stores nothing",
    "django.core.cache.backends.filebased.FileBasedCache": "has no atomic add",
}


@checks.register(checks.Tags.caches)
def check_dedupe_cache(app_configs: Optional[Any] = None, **kwargs: Any) -> List[checks.CheckMessage]:
    from django.urls import get_resolver

    try:
        get_resolver().url_patterns  # imports the views: every @webhook registers its alias
    except Exception:  # a broken URLconf is reported by Django's own check
        pass
    warnings: List[checks.CheckMessage] = []
    for alias in sorted(CACHE_ALIASES):
        backend = settings.CACHES.get(alias, {}).get("BACKEND", "")
        reason = NOT_SHARED.get(backend)
        if reason is not None:
            warnings.append(
                checks.Warning(
                    f"telhook dedupes webhooks on the cache {alias!r}, whose backend {backend} {reason}: "
                    "concurrent redeliveries of one event can all be processed.",
                    hint="Use a Redis or Memcached cache, or store=telhook.stores.DjangoDatabaseStore().",
                    id="telhook.W001",
                )
            )
    return warnings


def atomic_request_databases(exempt: AbstractSet[str] = frozenset()) -> List[str]:
    """The database aliases whose ATOMIC_REQUESTS wraps a view (those in ``exempt`` left out):
    none when the settings are not configured or name no usable database."""
    try:
        from django.db import connections

        if not settings.configured:
            return []
        return [alias for alias in connections
                if connections[alias].settings_dict.get("ATOMIC_REQUESTS") and alias not in exempt]
    except Exception:  # no usable database settings: nothing Django would wrap
        return []


def _views(patterns: Any) -> Any:
    """Every view of a URLconf's patterns, nested includes too."""
    for pattern in patterns:
        nested = getattr(pattern, "url_patterns", None)
        if nested is not None:
            yield from _views(nested)
        else:
            yield pattern.callback


@checks.register(checks.Tags.database)
def check_async_views_under_atomic_requests(app_configs: Optional[Any] = None, **kwargs: Any) -> List[checks.CheckMessage]:
    """Django answers every request of an ``async def`` view 500 under ``ATOMIC_REQUESTS`` (its
    handler refuses to wrap one in a transaction): Twilio and the DID reseller, which do not
    retry, lost every event (a review). The view as the URLconf routes to it is checked, so a
    ``@transaction.non_atomic_requests`` above or beneath ``@webhook`` counts."""
    from django.urls import get_resolver

    if not atomic_request_databases():
        return []
    try:
        views = list(_views(get_resolver().url_patterns))
    except Exception:  # a broken URLconf is reported by Django's own check
        return []
    errors: List[checks.CheckMessage] = []
    for view in views:
        if not getattr(view, "_telhook_async_webhook", False):
            continue
        wrapped = atomic_request_databases(exempt=getattr(view, "_non_atomic_requests", set()))
        if wrapped:
            name = getattr(view, "__qualname__", repr(view))
            errors.append(checks.Error(
                f"the async @webhook view {name} runs under ATOMIC_REQUESTS (databases "
                f"{', '.join(map(repr, wrapped))}): Django answers every request of it 500, and Twilio and the DID "
                "reseller do not retry.",
                hint="Decorate a sync view (its writes commit or roll back with the event's done mark), or mark this "
                     "one @transaction.non_atomic_requests.",
                id="telhook.E001",
            ))
    return errors
