import os

from django.core.asgi import get_asgi_application

from telhook.django.asgi import WebhookBodyCap

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "djangoproject.settings")
# Each prefix's provider answers a body over the cap (413; 500 to Lisoloo); the other hooks,
# listed without one, are answered 500 (their provider is not known here).
application = WebhookBodyCap(get_asgi_application(),
                             paths={"/served/": "limephone", "/hooks/lisoloo": "lisoloo", "/hooks/": None})
