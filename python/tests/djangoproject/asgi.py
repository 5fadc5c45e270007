import os

from django.core.asgi import get_asgi_application

from telhook.django.asgi import WebhookBodyCap

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "djangoproject.settings")
application = WebhookBodyCap(get_asgi_application(), paths=["/served/", "/hooks/"])
