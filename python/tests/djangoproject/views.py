import threading
import time

from django.conf import settings
from django.http import HttpResponse
from django.views.decorators.csrf import csrf_exempt

from telhook.django import webhook
from telhook.stores import DjangoDatabaseStore

from .models import Processed

PROCESSED: list = []
LOCK = threading.Lock()
FAIL_NEXT = {"value": False}
OWN_RESPONSE = {"value": False}


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
    if OWN_RESPONSE["value"]:
        return HttpResponse("not routed here", status=409, content_type="text/plain")
    return None


@webhook("limephone", credentials=settings.TELHOOK["limephone"])
async def limephone_async_hook(request, event):
    with LOCK:
        PROCESSED.append(event["id"])


@webhook("limephone", credentials=settings.TELHOOK["limephone"], store=DjangoDatabaseStore(), atomic=True)
def limephone_atomic_hook(request, event):
    Processed.objects.create(event_id=event["id"], view="atomic")
    if FAIL_NEXT["value"]:
        FAIL_NEXT["value"] = False
        raise RuntimeError("failed after writing: the row must roll back")


# The handler-vector runner swaps these per vector (see tests/test_handler_vectors.py).
VECTOR_VIEWS: dict = {}


@csrf_exempt  # as the @webhook view it dispatches to (a real server enforces CSRF; the test Client does not)
def vector_sync(request):
    return VECTOR_VIEWS["sync"](request)


@csrf_exempt
async def vector_async(request):
    return await VECTOR_VIEWS["async"](request)


@webhook("limephone", credentials=settings.TELHOOK["limephone"], store=DjangoDatabaseStore())
async def limephone_async_db_hook(request, event):
    with LOCK:
        PROCESSED.append(event["id"])


# Views under a route with URL parameters: Django passes them as keyword arguments.
@webhook("limephone", credentials=settings.TELHOOK["limephone"])
def tenant_hook(request, event, tenant, **more):
    with LOCK:
        PROCESSED.append(f"{tenant}:{event['id']}:{sorted(more)}")


@webhook("limephone", credentials=settings.TELHOOK["limephone"])
async def tenant_async_hook(request, event, tenant):
    with LOCK:
        PROCESSED.append(f"{tenant}:{event['id']}")


@webhook("limephone", credentials=settings.TELHOOK["limephone"], store=DjangoDatabaseStore(), atomic=True)
def tenant_atomic_hook(request, event, tenant):
    Processed.objects.create(event_id=f"{tenant}:{event['id']}", view="atomic")
