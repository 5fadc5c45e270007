import json
from typing import Any, Optional

from django.db import models


class JSONTextField(models.TextField):  # type: ignore[type-arg]
    """JSON kept as text. PostgreSQL's ``jsonb`` (what ``JSONField`` is there) refuses a NUL
    character (``\\u0000``) anywhere in a document: an SMS text holding the GSM ``@`` (0x00)
    would be refused on every delivery, a 503 until the provider gave up. Text holds any JSON."""

    def from_db_value(self, value: Optional[str], expression: Any, connection: Any) -> Any:
        return None if value is None else json.loads(value)

    def to_python(self, value: Any) -> Any:
        return json.loads(value) if isinstance(value, str) else value

    def get_prep_value(self, value: Any) -> Optional[str]:
        return None if value is None else json.dumps(value, separators=(",", ":"), ensure_ascii=False)


class DedupeKey(models.Model):
    """One event id claimed or handled by DjangoDatabaseStore (see telhook.stores)."""

    key: "models.CharField[str, str]" = models.CharField(max_length=255, unique=True)
    state: "models.CharField[str, str]" = models.CharField(max_length=16)  # "in_progress" or "done"
    # The claim's random token: a late release never frees a claim another worker took over.
    token: "models.CharField[str, str]" = models.CharField(max_length=32, blank=True)
    # UNIX seconds: the lease (in progress) or the dedupe TTL (done) ends here.
    expires_at: "models.BigIntegerField[int, int]" = models.BigIntegerField(db_index=True)

    class Meta:
        app_label = "telhook"
        db_table = "telhook_dedupe_key"

    def __str__(self) -> str:
        return f"{self.key} ({self.state})"


class InboxEvent(models.Model):
    """One event stored by the inbox (``telhook.django.inbox.DjangoInbox``): the normalized event
    and its processing record (the core's ``InboxRecord``: every column is written from the
    record the core returns, never decided here). Times are UNIX seconds, as in the core."""

    # The event's idempotency key; not unique: its dedupe claim (telhook_dedupe_key) lives only
    # for the provider's dedupe window, and the same key later is a new event.
    key: "models.CharField[str, str]" = models.CharField(max_length=255, db_index=True)
    provider: "models.CharField[str, str]" = models.CharField(max_length=32)
    type: "models.CharField[str, str]" = models.CharField(max_length=64)
    event: Any = JSONTextField()
    state: "models.CharField[str, str]" = models.CharField(max_length=16)
    attempts: "models.PositiveIntegerField[int, int]" = models.PositiveIntegerField(default=0)
    # Due when run_at <= now (pending: now; processing: the lease's end; failed: the next
    # attempt); NULL when done or dead.
    run_at: "models.BigIntegerField[Optional[int], Optional[int]]" = models.BigIntegerField(null=True)
    last_error_code: "models.CharField[Optional[str], Optional[str]]" = models.CharField(
        max_length=100, null=True, blank=True)
    last_error_message: "models.TextField[Optional[str], Optional[str]]" = models.TextField(null=True, blank=True)
    created_at: "models.BigIntegerField[int, int]" = models.BigIntegerField(db_index=True)
    updated_at: "models.BigIntegerField[int, int]" = models.BigIntegerField()
    keep_until: "models.BigIntegerField[Optional[int], Optional[int]]" = models.BigIntegerField(null=True)

    class Meta:
        app_label = "telhook"
        db_table = "telhook_inbox_event"
        verbose_name = "inbox event"
        indexes = [
            models.Index(fields=["run_at"], name="telhook_inbox_due"),  # the workers' due scan
            models.Index(fields=["provider", "type", "state"], name="telhook_inbox_filter"),  # the admin's filters
        ]

    def __str__(self) -> str:
        return f"{self.provider} {self.type} {self.key} ({self.state})"
