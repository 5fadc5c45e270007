from django.apps import AppConfig


class TelhookConfig(AppConfig):
    """``INSTALLED_APPS += ["telhook.django"]``: the dedupe table of DjangoDatabaseStore."""

    name = "telhook.django"
    label = "telhook"
    verbose_name = "telhook"
    default_auto_field = "django.db.models.BigAutoField"
