"""`make bench`, end-to-end servers (issue 14), started by bench/node/e2e.mjs on 127.0.0.1, one
worker process each, loaded with autocannon and stopped:

- ``gunicorn servers:django_app``: Django, ``POST /telhook`` is a view under ``@webhook``,
  ``POST /bare`` a plain view doing the hand-written check (bench/python/handwritten.py);
- ``uvicorn servers:starlette_app``: the same two endpoints on Starlette, ``/telhook`` under
  ``telhook.starlette.webhook``.

Both telhook endpoints get a store that always answers "new" (a repeated body would otherwise
be a duplicate after the first request, a shorter path) and the payload's signing time as their
clock; no middleware (the bare views would get none either)."""

from __future__ import annotations

import json
import pathlib
import sys
from typing import Any

import django
from django.conf import settings

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from handwritten import handwritten, secrets_of  # noqa: E402

PAYLOAD = json.loads((HERE.parent / "payloads" / "limephone.json").read_text())
CREDENTIALS = PAYLOAD["credentials"]
SECRETS = secrets_of(CREDENTIALS)
ACCEPTED = b'{"outcome":"accepted"}'
REFUSED = b'{"error":"signature_invalid"}'


def clock() -> float:
    return float(PAYLOAD["now"])


class AlwaysNew:
    """A dedupe store that never remembers: every delivery takes the full path."""

    def claim(self, key: str, token: str, lease_secs: int) -> str:
        return "new"

    def complete(self, key: str, token: str, ttl_secs: int) -> None:
        pass

    def release(self, key: str, token: str) -> None:
        pass


class AsyncAlwaysNew:
    async def claim(self, key: str, token: str, lease_secs: int) -> str:
        return "new"

    async def complete(self, key: str, token: str, ttl_secs: int) -> None:
        pass

    async def release(self, key: str, token: str) -> None:
        pass


# ---------------------------------------------------------------- Django
settings.configure(
    DEBUG=False, SECRET_KEY="bench-only", ALLOWED_HOSTS=["127.0.0.1"], ROOT_URLCONF=__name__,
    MIDDLEWARE=[], INSTALLED_APPS=[], DATABASES={}, USE_TZ=True,
)
django.setup()

from django.core.wsgi import get_wsgi_application  # noqa: E402
from django.http import HttpRequest, HttpResponse  # noqa: E402
from django.urls import path  # noqa: E402
from django.views.decorators.csrf import csrf_exempt  # noqa: E402

from telhook.django import webhook as django_webhook  # noqa: E402


@django_webhook("limephone", credentials=CREDENTIALS, store=AlwaysNew(), clock=clock)
def telhook_view(request: HttpRequest, event: Any) -> None:
    pass


@csrf_exempt
def bare_view(request: HttpRequest) -> HttpResponse:
    try:
        handwritten("limephone", request.headers, request.body, "", SECRETS)
    except ValueError:
        return HttpResponse(REFUSED, status=401, content_type="application/json")
    return HttpResponse(ACCEPTED, content_type="application/json")


urlpatterns = [path("telhook", telhook_view), path("bare", bare_view)]
django_app = get_wsgi_application()

# ---------------------------------------------------------------- Starlette
from starlette.applications import Starlette  # noqa: E402
from starlette.requests import Request  # noqa: E402
from starlette.responses import Response  # noqa: E402
from starlette.routing import Route  # noqa: E402

from telhook.starlette import webhook as starlette_webhook  # noqa: E402


@starlette_webhook("limephone", credentials=CREDENTIALS, store=AsyncAlwaysNew(), clock=clock)
async def telhook_endpoint(request: Request, event: Any) -> None:
    pass


async def bare_endpoint(request: Request) -> Response:
    body = await request.body()
    try:
        handwritten("limephone", request.headers, body, "", SECRETS)
    except ValueError:
        return Response(REFUSED, status_code=401, media_type="application/json")
    return Response(ACCEPTED, media_type="application/json")


starlette_app = Starlette(routes=[
    Route("/telhook", telhook_endpoint, methods=["POST"]), Route("/bare", bare_endpoint, methods=["POST"]),
])
