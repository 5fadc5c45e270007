from django.urls import path

from . import inbox_hooks, served, views

urlpatterns = [
    path("hooks/limephone", views.limephone_hook),
    path("hooks/lisoloo", views.lisoloo_hook),
    path("hooks/limephone-async", views.limephone_async_hook),
    path("hooks/limephone-atomic", views.limephone_atomic_hook),
    path("hooks/limephone-async-db", views.limephone_async_db_hook),
    path("hooks/vector", views.vector_sync),
    path("hooks/vector-async", views.vector_async),
    path("served/cache", served.cache_hook),
    path("served/db", served.db_hook),
    path("served/db-down", served.db_down_hook),
    path("served/async", served.async_hook),
    path("served/async-slow", served.async_slow_hook),
    path("served/count", served.processed_counts),
    path("inbox/limephone", inbox_hooks.limephone_inbox_hook),
    path("tenants/<slug:tenant>/limephone", views.tenant_hook),
    path("tenants/<slug:tenant>/limephone-async", views.tenant_async_hook),
    path("tenants/<slug:tenant>/limephone-atomic", views.tenant_atomic_hook),
    path("tenants/<slug:tenant>/inbox/limephone", inbox_hooks.limephone_inbox_hook),
]
