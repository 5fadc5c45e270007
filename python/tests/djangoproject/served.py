"""Views served by gunicorn in tests/test_served.py: every handler call is appended to a file
(calls across worker processes), every processed event is a row in the database.

Behaviour is steered through files in $TELHOOK_TEST_CONTROL_DIR: if "fail-first" exists, the
first call creates "entered", waits for "release" and raises (the database view after writing
its row, which must roll back)."""

import asyncio
import os
import pathlib
import time

from asgiref.sync import sync_to_async
from django.conf import settings

from telhook.django import webhook
from telhook.stores import DjangoCacheStore, DjangoDatabaseStore

from .models import Processed

CREDENTIALS = settings.TELHOOK["limephone"]


def _control() -> pathlib.Path:
    return pathlib.Path(os.environ.get("TELHOOK_TEST_CONTROL_DIR", "/nonexistent"))


def _handle(event, view):
    control = _control()
    with open(control / "calls", "a") as calls:
        calls.write(f"{os.getpid()} {event['id']}\n")
    if (control / "fail-first").exists():
        (control / "fail-first").unlink()
        (control / "entered").touch()
        deadline = time.monotonic() + 30
        while not (control / "release").exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        if view == "db":  # written inside the transaction: it must roll back
            Processed.objects.create(event_id=event["id"], view=view)
        raise RuntimeError("handler failed while a redelivery was in flight")
    Processed.objects.create(event_id=event["id"], view=view)
    time.sleep(0.3)  # long enough that the concurrent copies arrive while it runs


@webhook("limephone", credentials=CREDENTIALS, store=DjangoCacheStore())
def cache_hook(request, event):
    _handle(event, "cache")


@webhook("limephone", credentials=CREDENTIALS, store=DjangoDatabaseStore(), atomic=True)
def db_hook(request, event):
    _handle(event, "db")


# The "postgres" alias points at a port nothing listens on (settings.py): a database that is down.
@webhook("limephone", credentials=CREDENTIALS, store=DjangoDatabaseStore(using="postgres"), atomic=True)
def db_down_hook(request, event):
    _handle(event, "db-down")


@webhook("limephone", credentials=CREDENTIALS, store=DjangoCacheStore())
async def async_hook(request, event):
    await sync_to_async(_handle)(event, "async")


@webhook("limephone", credentials=CREDENTIALS, store=DjangoCacheStore())
async def async_slow_hook(request, event):
    """Slower than the provider's 5 s timeout when "slow" exists: the provider hangs up while
    it runs, the server cancels the view, and the handler must still run to completion once."""
    control = _control()
    await sync_to_async(_handle)(event, "async-slow")
    if (control / "slow").exists():
        await asyncio.sleep(float((control / "slow").read_text() or "6"))
    (control / "finished").write_text("yes")


def processed_counts(request):
    """How often each event was processed by one view (?view=cache): what `telhook simulate
    --count-url` reads."""
    from django.db.models import Count
    from django.http import JsonResponse

    rows = Processed.objects.filter(view=request.GET.get("view", "cache")).values("event_id")
    return JsonResponse({row["event_id"]: row["n"] for row in rows.annotate(n=Count("id"))})
