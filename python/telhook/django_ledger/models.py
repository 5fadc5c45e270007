"""The stored state of each message per recipient; written only by ``ledger.apply``."""

from __future__ import annotations

from typing import Any, Dict

from django.db import models


class MessageStatus(models.Model):
    """Columns and table match the core's store texts (the core's ``ledger_stores`` entry point)."""

    provider: models.CharField[str, str] = models.CharField(max_length=32)
    # A message id longer than 255 characters, or holding NUL, is stored as its SHA-256
    # (telhook.stores.column_key).
    message_id: models.CharField[str, str] = models.CharField(max_length=255)
    # '' when the provider names no recipient: part of the key, so never NULL.
    recipient: models.CharField[str, str] = models.CharField(max_length=32, blank=True, default="")
    status: models.CharField[str, str] = models.CharField(max_length=16)
    rank: models.SmallIntegerField[int, int] = models.SmallIntegerField()
    is_final: models.BooleanField[bool, bool] = models.BooleanField(verbose_name="final")
    error = models.JSONField(null=True, blank=True)
    seen = models.JSONField(default=dict, help_text="status -> earliest time reported")
    parts: models.PositiveSmallIntegerField[int, int] = models.PositiveSmallIntegerField(default=1)
    delivered_parts = models.JSONField(default=dict, help_text="event id -> time, per delivered part")
    last_verdict: models.CharField[str, str] = models.CharField(max_length=16, help_text="what the last report did")

    class Meta:
        db_table = "telhook_message_status"
        verbose_name = "message status"
        verbose_name_plural = "message statuses"
        constraints = [
            models.UniqueConstraint(fields=["provider", "message_id", "recipient"], name="telhook_message_status_key"),
        ]

    def as_state(self) -> Dict[str, Any]:
        """The row as the core's ledger state (``telhook.types.LedgerState``)."""
        return {
            "provider": self.provider, "message_id": self.message_id, "recipient": self.recipient or None,
            "status": self.status, "rank": self.rank, "final": self.is_final, "error": self.error,
            "seen": dict(self.seen), "parts": self.parts, "delivered_parts": dict(self.delivered_parts),
        }

    def __str__(self) -> str:
        return f"{self.provider}:{self.message_id} {self.recipient} {self.status}"
