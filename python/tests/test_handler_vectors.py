"""The handler vectors through every Python entry point: telhook.receive, telhook.areceive,
Django sync and async views, Flask and FastAPI. Each must give the answers the core's
contract gives (status, code, listed headers) and call the handler as often."""

from __future__ import annotations

import asyncio
import pathlib
from typing import Any, Callable, Dict, List, Tuple

import pytest

import telhook
from handler_vectors import HANDLER_VECTORS, Reply, Setup, Transport, failing, load, run_vector

ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


def _reply(response: telhook.Response) -> Reply:
    return response.status, {k.lower(): v for k, v in response.headers}, response.body


def plain_sync(setup: Setup) -> Transport:
    receiver = telhook.Receiver(setup.provider, setup.credentials, clock=setup.clock, **setup.options)  # type: ignore[arg-type]

    def deliver(method: str, url: str, headers: List[Tuple[str, str]], body: bytes) -> Reply:
        chunks = [body[i : i + 4096] for i in range(0, len(body), 4096)]  # streamed in chunks
        return _reply(telhook.receive(receiver, method=method, url=url, headers=headers, body=chunks,
                                      handler=lambda event: setup.script.handler(), store=setup.store))

    return deliver


def plain_async(setup: Setup) -> Transport:
    receiver = telhook.Receiver(setup.provider, setup.credentials, clock=setup.clock, **setup.options)  # type: ignore[arg-type]

    async def chunks(body: bytes) -> Any:
        for i in range(0, len(body), 4096):
            yield body[i : i + 4096]

    async def handler(event: Any) -> Any:
        return await setup.script.ahandler()

    def deliver(method: str, url: str, headers: List[Tuple[str, str]], body: bytes) -> Reply:
        return _reply(asyncio.run(telhook.areceive(receiver, method=method, url=url, headers=headers,
                                                   body=chunks(body), handler=handler, store=setup.store)))

    return deliver


def _django_headers(headers: List[Tuple[str, str]]) -> Tuple[str, Dict[str, str]]:
    rest = {name: value for name, value in headers if name.lower() != "content-type"}
    content_type = next((v for n, v in headers if n.lower() == "content-type"), "application/octet-stream")
    return content_type, rest


def _django_reply(response: Any) -> Reply:
    return response.status_code, {k.lower(): v for k, v in response.headers.items()}, response.content


def django_sync(setup: Setup, store: Any = None) -> Transport:
    from django.test import Client

    from djangoproject import views
    from telhook.django import webhook

    @webhook(setup.provider, credentials=setup.credentials, store=store or setup.store, clock=setup.clock,
             **setup.options)  # type: ignore[arg-type]
    def view(request: Any, event: Any) -> Any:
        return setup.script.handler()

    views.VECTOR_VIEWS["sync"] = view

    def deliver(method: str, url: str, headers: List[Tuple[str, str]], body: bytes) -> Reply:
        content_type, rest = _django_headers(headers)
        return _django_reply(Client(raise_request_exception=False).generic(method, url, data=body, content_type=content_type, headers=rest))

    return deliver


def django_sync_database_store(setup: Setup) -> Transport:
    """Django sync views on DjangoDatabaseStore (SQLite here), its clock moved by the vector."""
    from telhook.django.models import DedupeKey
    from telhook.stores import DjangoDatabaseStore

    DedupeKey.objects.all().delete()
    return django_sync(setup, failing(DjangoDatabaseStore)(setup, clock=setup.store_clock))


def django_async(setup: Setup) -> Transport:
    from django.test import AsyncClient

    from djangoproject import views
    from telhook.django import webhook

    @webhook(setup.provider, credentials=setup.credentials, store=setup.store, clock=setup.clock,
             **setup.options)  # type: ignore[arg-type]
    async def view(request: Any, event: Any) -> Any:
        return await setup.script.ahandler()

    views.VECTOR_VIEWS["async"] = view

    def deliver(method: str, url: str, headers: List[Tuple[str, str]], body: bytes) -> Reply:
        content_type, rest = _django_headers(headers)
        url = url.replace("/hooks/vector", "/hooks/vector-async", 1)
        response = asyncio.run(AsyncClient(raise_request_exception=False).generic(method, url, data=body, content_type=content_type, headers=rest))
        return _django_reply(response)

    return deliver


def flask_app(setup: Setup) -> Transport:
    import flask

    from telhook.flask import webhook

    app = flask.Flask(__name__)

    @webhook(setup.provider, credentials=setup.credentials, store=setup.store, clock=setup.clock,
             **setup.options)  # type: ignore[arg-type]
    def view(event: Any) -> Any:
        return setup.script.handler()

    app.add_url_rule("/hooks/vector", view_func=view, methods=ALL_METHODS)

    def deliver(method: str, url: str, headers: List[Tuple[str, str]], body: bytes) -> Reply:
        response = app.test_client().open(url, method=method, data=body, headers=headers)
        return response.status_code, {k.lower(): v for k, v in response.headers.items()}, response.get_data()

    return deliver


def fastapi_app(setup: Setup) -> Transport:
    from fastapi import FastAPI
    from starlette.testclient import TestClient

    from telhook.starlette import webhook

    app = FastAPI()

    @webhook(setup.provider, credentials=setup.credentials, store=setup.store, clock=setup.clock,
             **setup.options)  # type: ignore[arg-type]
    async def endpoint(request: Any, event: Any) -> Any:
        return await setup.script.ahandler()

    app.add_api_route("/hooks/vector", endpoint, methods=ALL_METHODS)

    def deliver(method: str, url: str, headers: List[Tuple[str, str]], body: bytes) -> Reply:
        response = TestClient(app).request(method, url, content=body, headers=headers)
        return response.status_code, {k.lower(): v for k, v in response.headers.items()}, response.content

    return deliver


PLACES: Dict[str, Callable[[Setup], Transport]] = {
    "receive": plain_sync,
    "areceive": plain_async,
    "django_sync": django_sync,
    "django_sync_database_store": django_sync_database_store,
    "django_async": django_async,
    "flask": flask_app,
    "fastapi": fastapi_app,
}


def test_there_are_enough_handler_vectors() -> None:
    assert len(HANDLER_VECTORS) >= 30


@pytest.mark.parametrize("place", sorted(PLACES))
@pytest.mark.parametrize("path", HANDLER_VECTORS, ids=lambda p: pathlib.Path(p).stem)
def test_handler_vector(place: str, path: pathlib.Path) -> None:
    run_vector(path.stem, load(path), PLACES[place])
