from django.contrib import admin

from .models import MessageStatus


@admin.register(MessageStatus)
class MessageStatusAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("message_id", "recipient", "provider", "status", "is_final", "parts", "last_verdict")
    list_filter = ("provider", "status", "is_final")
    search_fields = ("message_id", "recipient")
    # Written only by the ledger's conditional write; an edit here would bypass the rule.
    readonly_fields = tuple(f.name for f in MessageStatus._meta.fields)
