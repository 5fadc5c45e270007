from django.db import models


class Processed(models.Model):
    """One row per handled event: no unique key, so a double processing shows as two rows."""

    event_id = models.CharField(max_length=255)
    view = models.CharField(max_length=32)
