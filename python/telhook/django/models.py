from django.db import models


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
