"""Django integration: a view decorator for sync and ``async def`` views.

    from telhook.django import webhook

    @webhook("limephone", credentials=settings.TELHOOK["limephone"])
    def limephone_hook(request, event):
        handle(event)          # called once per event, never for a forgery or a redelivery

The answer comes from the core's receive contract (``telhook.decide``): 200 for accepted and
duplicate events, 401 for a forgery, 400 for an unreadable body, 405 for a method other than
POST, 413 over the body cap (500 to Lisoloo, which drops an event on any 4xx), 503 +
Retry-After while another delivery of the event is being handled, 500 when the view raises
(the claim is released, so the provider's retry is processed). The view may return an int status or its own HttpResponse (sent as is); any other
return value counts as success. A handler's 204 or 304 is sent with no body and no content type.

Dedupe: ``store=`` any telhook store; by default the Django cache ``cache_alias`` (Redis or
Memcached: the system check telhook.W001 warns about LocMem, dummy and file caches).
``atomic=True`` runs the claim, the view and the "done" mark in one transaction: with
``store=DjangoDatabaseStore()`` (add "telhook.django" to INSTALLED_APPS) the dedupe row and the
view's writes commit or roll back together. Exceptions from the view go to
``got_request_exception`` and the "telhook" logger (provider, event id, code; never the body).
"""

from __future__ import annotations

import functools
import inspect
import io
import logging
from typing import TYPE_CHECKING, Any, Callable, List, Mapping, Optional, Tuple, Union, cast

from asgiref.sync import sync_to_async
from django.core.signals import got_request_exception
from django.db import DatabaseError, transaction
from django.http import HttpRequest, HttpResponse, HttpResponseBase

from .. import Receiver
from .._receive import (Answer, BodySource, Delivery, SupportsRead, arun, chunked_body_unreadable, is_async_callable,
                        refuse_unfit_signature, run, settle_failed, store_step, unavailable_body)
from ..stores import (
    AnyDedupeStore, ClaimState, DedupeStore, DjangoCacheStore, DjangoDatabaseStore, check_store,
)
from ..types import Credentials, NormalizedEvent, ProviderName
from . import checks

if TYPE_CHECKING:
    from .inbox import DjangoInbox

View = Callable[[HttpRequest, NormalizedEvent], Any]
_log = logging.getLogger("telhook")

# Kept for code written against telhook 0.1.
CacheDedupe = DjangoCacheStore


def _own_status(returned: object) -> Optional[int]:
    return returned.status_code if isinstance(returned, HttpResponseBase) else None


def _http_response(answer: Answer) -> HttpResponse:
    response = HttpResponse(answer.body, status=answer.status, headers=dict(answer.headers))
    if not answer.has_content_type:  # a 204/304: Django would add text/html
        del response["Content-Type"]
    return response


def _request_parts(request: HttpRequest) -> Tuple[str, str, Any, Any]:
    # request.read streams the body (or re-reads request.body if something read it already),
    # so the cap applies while reading instead of DATA_UPLOAD_MAX_MEMORY_SIZE after it. If a
    # middleware parsed a multipart body (request.POST / FILES), the stream is spent and Django
    # kept no copy: `_read_started` without `_body` (Django's own test in `request.body`).
    spent = getattr(request, "_read_started", False) and not hasattr(request, "_body")
    body: BodySource
    if spent or chunked_body_unreadable(request.META):
        body = unavailable_body()
    else:
        # A file: read(n) up to the cap + 1 bytes (one read and one that finds the end, for a
        # small body), not a generator of chunks.
        chunked = _chunked_input(request)
        body = chunked if chunked is not None else request
    return str(request.method), request.get_full_path(), _meta_header_pairs(request.META), body


def _kept(delivery: Delivery, request: HttpRequest) -> None:
    """The body telhook read, given back to the request: once telhook streamed it,
    ``request.body`` raises RawPostDataException (a failed view on every redelivery). A body
    sent gzipped is given back as the core inflated it, over any copy of the gzip member a
    middleware read first, with headers that describe it."""
    if delivery.inflated:
        request._body = delivery.body
        request._stream = io.BytesIO(delivery.body)
        request.META.pop("HTTP_CONTENT_ENCODING", None)
        request.META["CONTENT_LENGTH"] = str(len(delivery.body))
        request.__dict__.pop("headers", None)  # a cached_property built from META
    elif not hasattr(request, "_body"):
        request._body = delivery.body


def _meta_header_pairs(meta: Mapping[str, Any]) -> List[Tuple[str, str]]:
    """The request's headers from META, named as ``request.headers`` names them (``HTTP_*`` and
    the two unprefixed ones, underscores as dashes) in lower case: ``request.headers`` builds a
    title-cased copy of META on first use (~5 µs a request), and the core reads names in any case."""
    pairs = []
    for key, value in meta.items():
        if key.startswith("HTTP_"):
            pairs.append((key[5:].replace("_", "-").lower(), str(value)))
        elif key == "CONTENT_TYPE" or key == "CONTENT_LENGTH":
            pairs.append((key.replace("_", "-").lower(), str(value)))
    return pairs


def _chunked_input(request: HttpRequest) -> Optional[SupportsRead]:
    """A chunked body without Content-Length: Django's WSGIRequest reads nothing of it (a 4xx
    for a real delivery). A server that sets `wsgi.input_terminated` (gunicorn, uWSGI, ...)
    decodes the chunks and ends the input: read that instead."""
    meta = request.META
    if meta.get("CONTENT_LENGTH") or not meta.get("wsgi.input_terminated"):
        return None
    return cast(SupportsRead, meta["wsgi.input"])


class _ThreadedStore:
    """A sync store used from an async view: each call in Django's sync thread (the ORM and
    the cache framework are sync)."""

    def __init__(self, store: DedupeStore) -> None:
        self.claim = sync_to_async(store.claim, thread_sensitive=True)
        self.complete = sync_to_async(store.complete, thread_sensitive=True)
        self.release = sync_to_async(store.release, thread_sensitive=True)


def _for_async(store: AnyDedupeStore) -> AnyDedupeStore:
    if inspect.iscoroutinefunction(store.claim):
        return store
    return cast(AnyDedupeStore, _ThreadedStore(cast(DedupeStore, store)))


def _resolve_store(store: Optional[AnyDedupeStore], dedupe: Optional[AnyDedupeStore], cache_alias: str) -> AnyDedupeStore:
    if store is not None and dedupe is not None:
        raise TypeError("pass store= (dedupe= is its old name), not both")
    chosen = store if store is not None else dedupe
    if chosen is None:
        chosen = DjangoCacheStore(cache_alias)
    check_store(chosen, "store")
    if isinstance(chosen, DjangoCacheStore):
        checks.CACHE_ALIASES.add(chosen.alias)
    return chosen


def webhook(
    provider: Optional[ProviderName],
    *,
    credentials: Union[Credentials, Mapping[str, Any], None],
    store: Optional[AnyDedupeStore] = None,
    dedupe: Optional[AnyDedupeStore] = None,
    cache_alias: str = "default",
    max_body_bytes: Optional[int] = None,
    public_url: Optional[str] = None,
    trust_forwarded_headers: Optional[bool] = None,
    atomic: bool = False,
    clock: Optional[Callable[[], float]] = None,
    lease_secs: Optional[int] = None,
    dedupe_ttl_secs: Optional[int] = None,
    store_deadline_ms: Optional[int] = None,
    inbox: "Optional[DjangoInbox]" = None,
) -> Callable[[View], Callable[[HttpRequest], Any]]:
    """Decorates ``view(request, event)`` (sync or ``async def``); see the module docstring.
    With ``inbox=`` (a ``telhook.django.inbox.DjangoInbox``) it decorates ``handler(event)``
    instead: the view stores the event and answers at once, a worker runs the handler later."""
    receiver = Receiver(provider, credentials, max_body_bytes=max_body_bytes, public_url=public_url,
                        trust_forwarded_headers=trust_forwarded_headers, clock=clock, lease_secs=lease_secs,
                        dedupe_ttl_secs=dedupe_ttl_secs, store_deadline_ms=store_deadline_ms)
    if inbox is not None:
        return _inbox_decorator(provider, receiver, inbox, store, dedupe, atomic)
    chosen = _resolve_store(store, dedupe, cache_alias)
    if not isinstance(atomic, bool):
        raise TypeError("atomic must be a bool")
    database = chosen.using if isinstance(chosen, DjangoDatabaseStore) else "default"

    def decorator(view: View) -> Callable[[HttpRequest], Any]:
        if not callable(view):
            raise TypeError("@webhook decorates a view: view(request, event)")
        # URL parameters (``path("hooks/<slug:tenant>/", view)``) follow as keyword arguments,
        # as Django passes them to any view (the wrapper took the request alone: every delivery
        # a TypeError in Django, before telhook answered: a review).
        refuse_unfit_signature(view, ("request", "event"),
                               "telhook.django.webhook calls view(request, event, *url_args, **url_kwargs)",
                               more=True)
        # An object whose __call__ is async is an async view too (called in the sync path, it
        # returned an awaitable: every delivery a 500, a review).
        if is_async_callable(view):
            if atomic:
                raise ValueError("atomic=True needs a sync view: Django transactions do not span awaits")
            wrapper = _async_view(view, receiver, _for_async(chosen))
            # Found by the system check telhook.E001 (django/checks.py) under ATOMIC_REQUESTS;
            # said at import too, for servers that run no checks (gunicorn, uvicorn).
            setattr(wrapper, "_telhook_async_webhook", True)
            wrapping = checks.atomic_request_databases(exempt=getattr(view, "_non_atomic_requests", set()))
            if wrapping:
                _log.warning("telhook: the async @webhook view %s is decorated under ATOMIC_REQUESTS (databases %s): "
                             "unless it is marked @transaction.non_atomic_requests above @webhook, Django answers "
                             "every request of it 500 (system check telhook.E001)",
                             getattr(view, "__qualname__", "?"), ", ".join(map(repr, wrapping)))
            return wrapper
        return _sync_view(view, receiver, chosen, database if atomic else None)

    return decorator


def _inbox_decorator(
    provider: Optional[ProviderName], receiver: Receiver, inbox: "DjangoInbox", store: object, dedupe: object,
    atomic: bool,
) -> Callable[[Any], Callable[[HttpRequest], Any]]:
    from .inbox import DjangoInbox, inbox_view

    if not isinstance(inbox, DjangoInbox):
        raise TypeError("inbox must be a telhook.django.inbox.DjangoInbox")
    if store is not None or dedupe is not None or atomic:
        raise TypeError("inbox= stores the event and its dedupe claim in the inbox's database: "
                        "store=, dedupe= and atomic= do not apply")

    def decorator(handler: Any) -> Callable[[HttpRequest], Any]:
        if not callable(handler):
            raise TypeError("@webhook(..., inbox=...) decorates a handler: handler(event)")
        inbox.handler(provider)(handler)
        return inbox_view(receiver, inbox, handler)

    return decorator


def _on_error(request: HttpRequest) -> Callable[[BaseException, Optional[NormalizedEvent]], None]:
    def report(error: BaseException, event: Optional[NormalizedEvent]) -> None:
        got_request_exception.send(sender=None, request=request)

    return report


class _InViewsTransaction:
    """A store wrapped for a view whose transaction telhook does not own: claim and release as
    the store's, `complete` the subclass's."""

    def __init__(self, store: DedupeStore, using: str) -> None:
        self.store = store
        self.using = using
        self.claim = store.claim
        self.release = store.release
        # The delivery whose claim this completes, set once it exists (see `webhook`).
        self.delivery: Optional[Delivery] = None


class _CompleteOnCommit(_InViewsTransaction):
    """A store outside the transaction the view runs in (``ATOMIC_REQUESTS``, or a view called
    inside ``transaction.atomic``): its "done" mark is written once that transaction commits.
    Written before, a commit that fails (a deferred constraint, a serialization failure) rolls
    the view's writes back while the redelivery is answered "duplicate": the event is lost. If
    the transaction rolls back, the claim ends with its lease and a redelivery is processed."""

    def complete(self, key: str, token: str, ttl_secs: int) -> None:
        def done() -> None:
            try:
                self.store.complete(key, token, ttl_secs)
            except Exception:
                # The commit stands: the done mark is tried again, as any failed settling call.
                _log.exception("telhook: marking %s done after the commit failed", key)
                if self.delivery is not None:
                    settle_failed(self.delivery, {"action": "complete", "key": key, "ttl_secs": ttl_secs}, self.store)

        transaction.on_commit(done, using=self.using)


class _CompleteInTransaction(_InViewsTransaction):
    """DjangoDatabaseStore inside the view's transaction, which telhook does not own
    (``ATOMIC_REQUESTS``): a done mark that fails (in its savepoint, so the view's writes still
    commit) is tried again once that transaction has committed. Tried at once from another
    thread's connection, it found the claim row uncommitted, matched nothing, and counted as
    done, leaving the row in progress (a review, on PostgreSQL)."""

    def complete(self, key: str, token: str, ttl_secs: int) -> None:
        try:
            self.store.complete(key, token, ttl_secs)
        except Exception:
            _log.exception("telhook: marking %s done in the view's transaction failed; tried again after its commit",
                           key)
            delivery = self.delivery
            if delivery is not None:
                settling = {"action": "complete", "key": key, "ttl_secs": ttl_secs}
                transaction.on_commit(lambda: settle_failed(delivery, settling, self.store), using=self.using)


def _outer_transaction(store: AnyDedupeStore, database: str) -> Optional[AnyDedupeStore]:
    """The store to use when the view already runs in a transaction of ``database`` that telhook
    does not own (Django's ATOMIC_REQUESTS): None when there is none."""
    # A TestCase's own transaction (``_from_testcase``) is not one: its on_commit callbacks never
    # run, and a test that sends an event twice must see "duplicate".
    blocks = getattr(transaction.get_connection(database), "atomic_blocks", [])
    if not any(not getattr(block, "_from_testcase", False) for block in blocks):
        return None
    if isinstance(store, DjangoDatabaseStore) and store.using == database:
        # Its rows commit or roll back with the view's writes.
        return cast(AnyDedupeStore, _CompleteInTransaction(cast(DedupeStore, store), database))
    if getattr(blocks[0], "_from_testcase", False):
        # Inside a TestCase nothing commits and on_commit callbacks never run (unless captured):
        # the done mark is written at once, so that a test sending an event twice sees
        # "duplicate"; a failed view's writes still roll back.
        return store
    return cast(AnyDedupeStore, _CompleteOnCommit(cast(DedupeStore, store), database))


def _sync_view(view: View, receiver: Receiver, store: AnyDedupeStore, database: Optional[str]) -> Callable[[HttpRequest], Any]:
    alias = store.using if isinstance(store, DjangoDatabaseStore) else "default"

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *url_args: Any, **url_kwargs: Any) -> HttpResponseBase:
        outer = _outer_transaction(store, database or alias)
        delivery = Delivery(receiver, store if outer is None else outer, on_error=_on_error(request),
                            own_status=_own_status)
        if isinstance(outer, _InViewsTransaction):
            outer.delivery = delivery
        method, url, headers, body = _request_parts(request)

        def call(event: NormalizedEvent) -> object:
            _kept(delivery, request)
            return view(request, event, *url_args, **url_kwargs)

        if database is None:
            answer, own = run(delivery, method, url, headers, body, call)
            if outer is not None and answer.dedupe == "release":
                # Not handled (the view raised, or answered a status the provider retries): the
                # request's transaction must not commit what the view wrote before, or the
                # redelivery's run writes it again.
                transaction.set_rollback(True, using=alias)
        else:
            answer, own = _run_atomic(delivery, database, method, url, headers, body, request,
                                      functools.partial(_with_url_values, view, url_args, url_kwargs))
        return cast(HttpResponseBase, own) if own is not None else _http_response(answer)

    wrapper.csrf_exempt = True  # type: ignore[attr-defined]
    return wrapper


def _async_view(view: View, receiver: Receiver, store: AnyDedupeStore) -> Callable[[HttpRequest], Any]:
    @functools.wraps(view)
    async def wrapper(request: HttpRequest, *url_args: Any, **url_kwargs: Any) -> HttpResponseBase:
        delivery = Delivery(receiver, store, on_error=_on_error(request), own_status=_own_status)
        method, url, headers, body = _request_parts(request)

        def call(event: NormalizedEvent) -> object:
            _kept(delivery, request)
            return view(request, event, *url_args, **url_kwargs)

        answer, own = await arun(delivery, method, url, headers, body, call)
        return cast(HttpResponseBase, own) if own is not None else _http_response(answer)

    wrapper.csrf_exempt = True  # type: ignore[attr-defined]
    return wrapper


def _with_url_values(view: View, url_args: Tuple[Any, ...], url_kwargs: Mapping[str, Any], request: HttpRequest,
                     event: NormalizedEvent) -> object:
    return view(request, event, *url_args, **url_kwargs)


def _run_atomic(
    delivery: Delivery, database: str, method: str, url: str, headers: Any, body: Any, request: HttpRequest, view: View
) -> Tuple[Answer, object]:
    """The receive machine's loop with the claim, the view and — with the database store — the
    done mark in one transaction: the dedupe row and the view's writes commit together."""
    action = delivery.start(method, url, headers)
    while action["action"] in ("read_body", "normalize"):
        if action["action"] == "read_body":
            action = delivery.next(delivery.read(body, action["max_bytes"]))
        else:
            action = delivery.normalize(delivery.body)
    if action["action"] == "answer":
        return delivery.answered(None)
    in_transaction = isinstance(delivery.store, DjangoDatabaseStore) and delivery.store.using == database
    own: object = None
    before: Optional[Tuple[Any, Any]] = None
    try:
        with transaction.atomic(using=database):
            if action["action"] == "claim":
                # A claim in this transaction that fails is rolled back with it: none to release.
                action = delivery.next(store_step(delivery, action, release_if_failed=not in_transaction))
            if action["action"] != "call_handler":
                transaction.set_rollback(True, using=database)
                return delivery.answered(None)
            try:
                # A database error in the view rolls back to here, leaving the transaction usable.
                with transaction.atomic(using=database):
                    _kept(delivery, request)
                    step, own = delivery.handled_input(view(request, cast(NormalizedEvent, delivery.event)))
            except Exception as error:
                step = delivery.handler_failed(error)
            before = (delivery.flow.snapshot(), delivery.action)
            action = delivery.next(step)
            if action["action"] == "release":
                transaction.set_rollback(True, using=database)
            elif action["action"] == "complete" and in_transaction:
                # Raised here, it rolls the view's writes back with the done mark (below): a
                # failure caught and told as "settle failed" would answer 200 over a transaction
                # that no longer commits.
                delivery.store_call(action)()
                action = delivery.next({"input": "settled"})
    except DatabaseError as error:
        if before is None:  # the database failed before the handler ran: the store failed
            action = delivery.next(delivery.store_input(action, None, error))
        else:  # the commit failed: none of the view's writes are stored
            delivery.flow, delivery.action = before
            own, action = None, delivery.next(delivery.handler_failed(error))
    # Any other store is settled after the commit, so that a failed commit is never marked done.
    while action["action"] != "answer":
        action = delivery.next(store_step(delivery, action))
    return delivery.answered(own)


__all__ = ["CacheDedupe", "ClaimState", "DedupeStore", "DjangoCacheStore", "DjangoDatabaseStore", "webhook"]
