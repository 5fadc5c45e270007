import os

SECRET_KEY = "test-only-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["*"]
ROOT_URLCONF = "djangoproject.urls"
INSTALLED_APPS: list = [
    "telhook.django", "djangoproject", "telhook.django_ledger",
    "django.contrib.admin", "django.contrib.auth", "django.contrib.contenttypes", "django.contrib.sessions",
    "django.contrib.messages",
]
TEMPLATES = [{
    "BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True,
    "OPTIONS": {"context_processors": [
        "django.template.context_processors.request", "django.contrib.auth.context_processors.auth",
        "django.contrib.messages.context_processors.messages",
    ]},
}]
# The admin's middleware, used by the ledger admin test only (override_settings).
ADMIN_MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware", "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware", "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
# The webhook tests run without the admin's middleware; the admin test adds it (above).
SILENCED_SYSTEM_CHECKS = ["admin.E408", "admin.E409", "admin.E410"]
MIDDLEWARE = ["django.middleware.common.CommonMiddleware", "django.middleware.csrf.CsrfViewMiddleware"]
# In-process tests: SQLite in the test session's temp dir. Served (gunicorn) tests: PostgreSQL
# and Redis started by the test setup, passed in the environment.
if os.environ.get("TELHOOK_TEST_PG_PORT"):
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": "postgres",
            "USER": "telhook",
            "HOST": "127.0.0.1",
            "PORT": os.environ["TELHOOK_TEST_PG_PORT"],
            # Persistent connections for the inbox's latency test (a new connection per request
            # costs more than the request); 0 (Django's default) elsewhere.
            "CONN_MAX_AGE": int(os.environ.get("TELHOOK_TEST_CONN_MAX_AGE", "0")),
        }
    }
else:
    DATABASES = {
        "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": os.environ.get("TELHOOK_TEST_SQLITE", ":memory:"),
                    "OPTIONS": {"timeout": 60}},  # the ledger's 50 concurrent writers wait their turn
    }
# The ledger tests point this alias at the session's PostgreSQL (conftest.postgres_port) before
# its first connection.
DATABASES["postgres"] = {"ENGINE": "django.db.backends.postgresql", "NAME": "postgres", "USER": "telhook",
                         "HOST": "127.0.0.1", "PORT": "1"}
if os.environ.get("TELHOOK_TEST_REDIS_URL"):
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                          "LOCATION": os.environ["TELHOOK_TEST_REDIS_URL"]}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "telhook-tests"}}
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
DATA_UPLOAD_MAX_MEMORY_SIZE = 64 * 1024

TELHOOK = {
    "limephone": {"hmac_sha256": ["lime-whsec-CURRENT-5b1e"], "bearer": "lime-bearer-TOKEN-9f8e"},
    "lisoloo": {"basic": [{"username": "lisoloo-hook", "password": "liso-PASS-current-4411"}]},
}
