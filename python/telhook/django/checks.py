"""System check telhook.W001: the dedupe cache must be shared by every worker and atomic."""

from __future__ import annotations

from typing import Any, List, Optional, Set

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
