"""The test project's Celery app (tests/test_django_inbox.py runs `celery -A djangoproject.celery_app
worker` on the session's Redis): the inbox's tasks on the inbox of djangoproject.inbox_hooks."""

import os

from celery import Celery

import telhook.django.celery

app = Celery("djangoproject", broker=os.environ.get("TELHOOK_TEST_REDIS_URL", "redis://127.0.0.1:1/0"))
app.conf.update(worker_hijack_root_logger=False, broker_connection_retry_on_startup=True, task_ignore_result=True)
tasks = telhook.django.celery.install(app, "djangoproject.inbox_hooks.inbox")
