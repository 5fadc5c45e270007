SECRET_KEY = "test-only-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["*"]
ROOT_URLCONF = "djangoproject.urls"
INSTALLED_APPS: list = []
MIDDLEWARE = ["django.middleware.common.CommonMiddleware", "django.middleware.csrf.CsrfViewMiddleware"]
DATABASES: dict = {}
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "telhook-tests"}}
USE_TZ = True
DATA_UPLOAD_MAX_MEMORY_SIZE = 64 * 1024

TELHOOK = {
    "limephone": {"hmac_sha256": ["lime-whsec-CURRENT-5b1e"], "bearer": "lime-bearer-TOKEN-9f8e"},
    "lisoloo": {"basic": [{"username": "lisoloo-hook", "password": "liso-PASS-current-4411"}]},
}
