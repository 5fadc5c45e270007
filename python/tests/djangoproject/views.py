import threading
import time

from django.conf import settings

from telhook.django import webhook

PROCESSED: list = []
LOCK = threading.Lock()
FAIL_NEXT = {"value": False}


@webhook("limephone", credentials=settings.TELHOOK["limephone"])
def limephone_hook(request, event):
    if FAIL_NEXT["value"]:
        FAIL_NEXT["value"] = False
        raise RuntimeError("database down")
    # Slow enough that concurrent deliveries of one event overlap.
    time.sleep(0.05)
    with LOCK:
        PROCESSED.append(event["id"])


@webhook("lisoloo", credentials=settings.TELHOOK["lisoloo"])
def lisoloo_hook(request, event):
    with LOCK:
        PROCESSED.append(event["id"])
