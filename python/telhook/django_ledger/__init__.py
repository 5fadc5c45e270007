"""Django app ``telhook.django_ledger`` (label ``telhook_ledger``): the message status ledger.

Add ``"telhook.django_ledger"`` to ``INSTALLED_APPS`` and run ``migrate``; then call
``telhook.django_ledger.ledger.record(event)`` from the webhook view. Its own app, so that it
migrates independently of the dedupe models in ``telhook.django``.
"""
