"""Flask integration: a view decorator.

    from telhook.flask import webhook

    @app.route("/hooks/<tenant>/lisoloo")
    @webhook("lisoloo", credentials=CREDENTIALS, store=RedisStore(redis.Redis()))
    def lisoloo_hook(event, tenant):
        handle(tenant, event)

``app.route(path)`` without ``methods=`` routes every method to telhook, so a GET gets the
core's JSON 405 with ``Allow: POST`` (``app.post`` would leave it to Werkzeug's HTML 405).
URL variables are passed to the view as keyword arguments after the event.

The body is read from ``request.stream`` with the cap enforced while reading (don't read
``request.data`` or ``request.form`` before). The view may return an int status, its own
Response (sent as is) or a Flask status tuple (``"busy", 503``: made into the Response Flask
would send); any other return value (a string, a dict) counts as success. The view can read
the body it was called for (``request.get_json()``). The
answer otherwise comes from the core's receive contract.
Exceptions from the view go to Flask's ``got_request_exception`` and the "telhook" logger.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any, Callable, Iterable, List, Mapping, Optional, Tuple, Union, cast

from flask import Response, current_app, got_request_exception, request
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Response as WerkzeugResponse

from . import Receiver
from ._receive import (
    Answer,
    BodyTooLarge,
    Delivery,
    chunked_body_unreadable,
    is_async_callable,
    no_handler,
    refuse_unfit_signature,
    request_target,
    run,
    stream_reader,
    unavailable_body,
)
from .stores import DedupeStore, check_store
from .types import Credentials, NormalizedEvent, ProviderName

if TYPE_CHECKING:
    from .inbox import Inbox

View = Callable[..., Any]
# Werkzeug routes named methods only (no wildcard): the standard ones a client may send.
ROUTED_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def _own_status(returned: object) -> Optional[int]:
    return returned.status_code if isinstance(returned, WerkzeugResponse) else None


FORM_MIMETYPES = ("multipart/form-data", "application/x-www-form-urlencoded")


def _body() -> Iterable[bytes]:
    # request.get_data() keeps a copy (werkzeug's `_cached_data`); request.form / files parse
    # the stream without one, after which the raw body is gone. Werkzeug only reads the stream
    # for the two form types: a JSON body is still there after `request.form` was touched. And
    # a form parsed before `request.data` (which parses the form first) leaves a cached b"".
    # A chunked body Werkzeug could not read is empty, cached or not.
    if chunked_body_unreadable(request.environ):
        return unavailable_body()
    d = request.__dict__
    cached = d.get("_cached_data")
    parsed = ("form" in d or "files" in d) and request.mimetype in FORM_MIMETYPES
    if cached is not None and not (parsed and not cached and request.content_length != 0):
        return [cached]
    if parsed:
        return unavailable_body()
    return _werkzeug_stream()


def _werkzeug_stream() -> Iterable[bytes]:
    """The body from Werkzeug's stream. Flask's MAX_CONTENT_LENGTH refuses a longer body by
    raising RequestEntityTooLarge, whose 413 Lisoloo takes as final (it drops the event): read
    as the body over the cap it is, answered as the core answers one for the provider."""
    try:
        yield from stream_reader(request.stream.read)
    except RequestEntityTooLarge:
        raise BodyTooLarge() from None


def _request_target() -> str:
    """The path and query Twilio signed: with the prefix the app is mounted under (SCRIPT_NAME:
    gunicorn's, DispatcherMiddleware's, ProxyFix(x_prefix=1)'s), escapes as they were sent."""
    return request_target(request.script_root + request.path, request.query_string)


def _view_result(returned: object) -> object:
    """A view's ``(body, status)`` / ``(body, status, headers)`` / ``(body, headers)`` tuple is
    Flask's own way to answer with a status: made into the Response Flask would send, so that
    its status (a 503) decides, instead of counting as success."""
    if isinstance(returned, tuple):
        return current_app.make_response(returned)
    return returned


def _calling(view: View, delivery: Delivery, url_values: Mapping[str, Any]) -> Callable[[NormalizedEvent], object]:
    def call(event: NormalizedEvent) -> object:
        # The body telhook read, given back for the view's request.get_json() / request.data:
        # telhook consumed the stream, and Werkzeug would hand the view an empty body.
        if delivery.inflated:
            _give_inflated(delivery.body)
        else:
            request.__dict__.setdefault("_cached_data", delivery.body)
        return _view_result(view(event, **url_values))

    return call


def _give_inflated(body: bytes) -> None:
    """A body sent gzipped, given back as the core inflated it: over any copy of the gzip
    member read before telhook (a ``before_request`` logging it), with headers that describe it
    (its view's ``get_json()`` failed on the member: a 500 on every retry)."""
    kept = request.__dict__
    kept["_cached_data"] = body
    kept.pop("_cached_json", None)
    kept.pop("content_length", None)  # cached by Werkzeug once read (request.values does)
    request.environ.pop("HTTP_CONTENT_ENCODING", None)
    request.environ["CONTENT_LENGTH"] = str(len(body))


def _environ_header_pairs(environ: Mapping[str, Any]) -> List[Tuple[str, str]]:
    """``request.headers.items()`` read straight from the WSGI environ, by Werkzeug's rules
    (``HTTP_*`` except the two content headers, which count unprefixed and only when not
    empty), names lower-cased instead of title-cased: ~4 µs a request less, and the core reads
    names in any case."""
    pairs = []
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            if key != "HTTP_CONTENT_TYPE" and key != "HTTP_CONTENT_LENGTH":
                pairs.append((key[5:].replace("_", "-").lower(), str(value)))
        elif (key == "CONTENT_TYPE" or key == "CONTENT_LENGTH") and value:
            pairs.append((key.replace("_", "-").lower(), str(value)))
    return pairs


def _response(answer: Answer) -> Response:
    response = Response(answer.body, status=answer.status, headers=list(answer.headers))
    if not answer.has_content_type:  # a 204/304: Flask would add text/html
        del response.headers["Content-Type"]
    return response


def _report(error: BaseException, event: Optional[NormalizedEvent]) -> None:
    got_request_exception.send(current_app._get_current_object(), exception=error)  # type: ignore[attr-defined]


def webhook(
    provider: Optional[ProviderName],
    *,
    credentials: Union[Credentials, Mapping[str, Any], None],
    store: DedupeStore,
    max_body_bytes: Optional[int] = None,
    public_url: Optional[str] = None,
    trust_forwarded_headers: Optional[bool] = None,
    clock: Optional[Callable[[], float]] = None,
    lease_secs: Optional[int] = None,
    dedupe_ttl_secs: Optional[int] = None,
    store_deadline_ms: Optional[int] = None,
) -> Callable[[View], Callable[..., WerkzeugResponse]]:
    """Decorates ``view(event)``; see the module docstring."""
    receiver = Receiver(provider, credentials, max_body_bytes=max_body_bytes, public_url=public_url,
                        trust_forwarded_headers=trust_forwarded_headers, clock=clock, lease_secs=lease_secs,
                        dedupe_ttl_secs=dedupe_ttl_secs, store_deadline_ms=store_deadline_ms)
    check_store(store)

    def decorator(view: View) -> Callable[..., WerkzeugResponse]:
        if not callable(view):
            raise TypeError("@webhook decorates a view: view(event)")
        if is_async_callable(view):
            raise TypeError("telhook.flask.webhook takes a sync view; for asyncio use telhook.starlette")
        refuse_unfit_signature(view, ("event",), "telhook.flask.webhook calls view(event, **url_values)",
                               more=True)

        @functools.wraps(view)
        def wrapper(**url_values: Any) -> WerkzeugResponse:
            delivery = Delivery(receiver, store, on_error=_report, own_status=_own_status)
            answer, own = run(
                delivery,
                request.method,
                _request_target(),
                _environ_header_pairs(request.environ),
                _body(),
                _calling(view, delivery, url_values),
            )
            if own is not None:
                return own  # type: ignore[return-value]
            return _response(answer)

        # `app.route(path)` without methods= reads these: every method reaches telhook, which
        # answers the core's 405 + Allow: POST (Werkzeug's own 405 is an HTML page).
        wrapper.methods = ROUTED_METHODS  # type: ignore[attr-defined]
        wrapper.provide_automatic_options = False  # type: ignore[attr-defined]
        return wrapper

    return decorator


def inbox_view(
    provider: Optional[ProviderName],
    *,
    credentials: Union[Credentials, Mapping[str, Any], None],
    inbox: "Inbox",
    max_body_bytes: Optional[int] = None,
    public_url: Optional[str] = None,
    trust_forwarded_headers: Optional[bool] = None,
    clock: Optional[Callable[[], float]] = None,
    dedupe_ttl_secs: Optional[int] = None,
) -> Callable[..., WerkzeugResponse]:
    """A view that stores each verified event in ``inbox`` and answers at once (inbox mode,
    see telhook.inbox); a worker runs the handler later:
    ``app.add_url_rule("/hooks/lisoloo", view_func=inbox_view("lisoloo", credentials=…, inbox=inbox))``."""
    from .inbox import Inbox, check_inbox

    receiver = Receiver(provider, credentials, max_body_bytes=max_body_bytes, public_url=public_url,
                        trust_forwarded_headers=trust_forwarded_headers, clock=clock,
                        dedupe_ttl_secs=dedupe_ttl_secs)
    check_inbox(inbox)

    def view(**url_values: Any) -> WerkzeugResponse:
        delivery = Delivery(receiver, cast(Any, inbox), on_error=_report, inbox=True)
        answer, _ = run(delivery, request.method, _request_target(),
                        _environ_header_pairs(request.environ), _body(), no_handler)
        return _response(answer)

    # Flask names a rule's endpoint after its view, so this name is stable (url_for, app
    # factories); a second inbox view of one provider takes `endpoint=` in add_url_rule.
    view.__name__ = f"telhook_inbox_{provider or 'detected'}"
    view.methods = ROUTED_METHODS  # type: ignore[attr-defined]
    view.provide_automatic_options = False  # type: ignore[attr-defined]
    return view


__all__ = ["inbox_view", "webhook"]
