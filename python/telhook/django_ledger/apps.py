from django.apps import AppConfig


class TelhookLedgerConfig(AppConfig):
    name = "telhook.django_ledger"
    label = "telhook_ledger"
    verbose_name = "telhook message status"
    default_auto_field = "django.db.models.BigAutoField"
