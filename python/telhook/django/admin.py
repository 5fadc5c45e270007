"""The inbox's events in the Django admin: filters, search by key, the event read-only, and the
actions "retry now" and "replay" (both through telhook.django.inbox, never a column edit)."""

from __future__ import annotations

import datetime
import json
from typing import Any, Optional

from django.contrib import admin, messages
from django.http import HttpRequest
from django.utils.html import format_html

from .models import InboxEvent


def _when(seconds: Optional[int]) -> Optional[datetime.datetime]:
    return None if seconds is None else datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc)


def _inbox(queryset: Any) -> Any:
    from .inbox import DjangoInbox, registered_inbox

    try:
        return registered_inbox(queryset.db)
    except Exception:  # no inbox built in this process: the policy of settings.TELHOOK_INBOX
        return DjangoInbox(queryset.db)


@admin.register(InboxEvent)
class InboxEventAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("id", "provider", "type", "key", "state", "attempts", "stored", "next_run", "last_error_code")
    list_filter = ("provider", "type", "state")
    search_fields = ("key",)
    ordering = ("-id",)
    actions = ["retry_now", "replay"]
    # Written only by the inbox's steps (the core's records); an edit here would bypass them.
    readonly_fields = ("key", "provider", "type", "event_json", "state", "attempts", "stored", "next_run",
                       "last_error_code", "last_error_message", "updated", "kept_until")
    exclude = ("event", "run_at", "created_at", "updated_at", "keep_until")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(description="stored", ordering="created_at")
    def stored(self, obj: InboxEvent) -> Optional[datetime.datetime]:
        return _when(obj.created_at)

    @admin.display(description="next run / lease end", ordering="run_at")
    def next_run(self, obj: InboxEvent) -> Optional[datetime.datetime]:
        return _when(obj.run_at)

    @admin.display(description="updated")
    def updated(self, obj: InboxEvent) -> Optional[datetime.datetime]:
        return _when(obj.updated_at)

    @admin.display(description="kept until")
    def kept_until(self, obj: InboxEvent) -> Optional[datetime.datetime]:
        return _when(obj.keep_until)

    @admin.display(description="event")
    def event_json(self, obj: InboxEvent) -> str:
        return format_html("<pre>{}</pre>", json.dumps(obj.event, indent=2, sort_keys=True, ensure_ascii=False))

    @admin.action(description="Retry now (waiting events: keep their attempts)", permissions=["change"])
    def retry_now(self, request: HttpRequest, queryset: Any) -> None:
        count = _inbox(queryset).retry_now(queryset.values_list("id", flat=True))
        self.message_user(request, f"{count} inbox events due now", messages.SUCCESS)

    @admin.action(description="Replay (run again with fresh attempts)", permissions=["change"])
    def replay(self, request: HttpRequest, queryset: Any) -> None:
        replayed, skipped = _inbox(queryset).replay(list(queryset.values_list("id", flat=True)))
        note = f"; {skipped} held by a worker skipped" if skipped else ""
        self.message_user(request, f"{replayed} inbox events replayed{note}", messages.SUCCESS)
