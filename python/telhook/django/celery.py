"""Celery for the Django inbox: a task per stored event, on the engine you already run.

    # proj/celery.py — the usual Django + Celery file
    from celery import Celery
    import telhook.django.celery

    app = Celery("proj")
    app.config_from_object("django.conf:settings", namespace="CELERY")
    telhook.django.celery.install(app)

:func:`install` registers two tasks on ``app`` and hooks the inbox of database ``using``:

- ``telhook.inbox.process(id)``: the worker step of ``telhook.django.inbox`` for that one row —
  claim it if due (its claim committed), run the handler with the done mark in its transaction,
  or record the failure. Sent after the commit of every write that makes an event due: when it
  is stored (``transaction.on_commit``: a task never runs before its row exists), when an
  attempt failed (``countdown`` to the core's ``run_at``: the backoff is the core's, not
  Celery's retry), when it is replayed or retried now. A task that finds its row done does
  nothing; one that finds it early by the worker's clock (the web host's clock ahead), or held
  by another worker, sends itself again for the row's ``run_at`` (the lease's end).
- ``telhook.inbox.sweep()``: sends ``process`` for every due row. A task lost by the broker or a
  worker killed mid-handler leaves its row due (after the lease): schedule the sweep with
  Celery beat (e.g. every minute), or run ``manage.py telhook_worker`` beside Celery.

The handlers are found as ``manage.py telhook_worker`` finds them: the inbox ``inbox`` (a
DjangoInbox, or its dotted path), else the one your URLconf's ``@webhook(..., inbox=...)`` views
build (the URLconf is imported on the first task). With Redis as the broker, an eta beyond the
``visibility_timeout`` (1 h) may be delivered more than once: harmless, the row decides.
"""

from __future__ import annotations

import time
from typing import Any, List, Optional, Union

from .inbox import SCHEDULERS, DjangoInbox, Scheduler, load_inbox

PROCESS = "telhook.inbox.process"
SWEEP = "telhook.inbox.sweep"


class InboxTasks:
    """What :func:`install` registered: the ``process`` and ``sweep`` tasks, and the scheduler
    hooked into the inbox (``uninstall()`` unhooks it)."""

    def __init__(self, app: Any, inbox: Union[DjangoInbox, str, None], using: str, queue: Optional[str]) -> None:
        self.app, self.using, self.queue = app, using, queue
        self._inbox = inbox
        self._loaded: Optional[DjangoInbox] = None
        tasks = self

        @app.task(name=PROCESS, ignore_result=True)  # type: ignore[untyped-decorator]
        def process(row_id: int) -> Optional[str]:
            return tasks.process_row(row_id)

        @app.task(name=SWEEP, ignore_result=True)  # type: ignore[untyped-decorator]
        def sweep(limit: int = 1000) -> int:
            return tasks.sweep(limit)

        self.process, self.sweep_task = process, sweep
        self.scheduler: Scheduler = self.schedule
        if isinstance(inbox, DjangoInbox):
            inbox.schedulers.append(self.scheduler)
        else:
            SCHEDULERS.setdefault(using, []).append(self.scheduler)

    def inbox(self) -> DjangoInbox:
        if self._loaded is None:
            if isinstance(self._inbox, DjangoInbox):
                if not self._inbox.handlers:  # a worker process: the views register the handlers
                    from django.urls import get_resolver

                    get_resolver().url_patterns
                self._loaded = self._inbox
            else:
                self._loaded = load_inbox(self.using, self._inbox)
        return self._loaded

    def process_row(self, row_id: int) -> Optional[str]:
        """The ``process`` task's body. A row not yet due by this worker's clock is sent again
        for its ``run_at``: the web host's clock can run ahead of the worker's (the task, sent
        on commit, then arrives "early"), and a row dropped here would wait for a sweep that
        may never be scheduled. A row held by another worker is sent again for its lease's end.
        A worker killed mid-handler leaves no task behind (Celery acked it when it started): its
        row waits for the sweep (``telhook.inbox.sweep``, run by Celery beat: see the README)."""
        inbox = self.inbox()
        outcome = inbox.process(row_id)
        if outcome is None:
            waiting = inbox.waiting_until(row_id)
            if waiting is not None:
                self.schedule(row_id, waiting)
        return outcome

    def schedule(self, row_id: int, run_at: int) -> None:
        """Sends ``process(row_id)`` to run at ``run_at`` (UNIX seconds)."""
        countdown = max(0.0, run_at - self._now())
        options: dict[str, Any] = {"countdown": countdown} if countdown > 0 else {}
        if self.queue is not None:
            options["queue"] = self.queue
        self.app.send_task(PROCESS, args=[row_id], **options)

    def sweep(self, limit: int = 1000) -> int:
        """Sends ``process`` for up to ``limit`` due rows; how many. (A worker without a
        handler for a row's provider leaves that row alone.)"""
        from .models import InboxEvent

        now = int(self._now())
        rows = InboxEvent.objects.using(self.using).filter(run_at__lte=now).order_by("run_at")
        ids: List[int] = list(rows.values_list("id", flat=True)[:limit])
        for row_id in ids:
            self.schedule(row_id, now)
        return len(ids)

    def _now(self) -> float:
        """UNIX seconds by the inbox's clock (``time.time`` unless the inbox was given one)."""
        return self._inbox.clock() if isinstance(self._inbox, DjangoInbox) else time.time()

    def uninstall(self) -> None:
        if isinstance(self._inbox, DjangoInbox):
            if self.scheduler in self._inbox.schedulers:
                self._inbox.schedulers.remove(self.scheduler)
        elif self.scheduler in SCHEDULERS.get(self.using, []):
            SCHEDULERS[self.using].remove(self.scheduler)


def install(app: Any, inbox: Union[DjangoInbox, str, None] = None, *, using: str = "default",
            queue: Optional[str] = None) -> InboxTasks:
    """Registers ``telhook.inbox.process`` and ``telhook.inbox.sweep`` on the Celery ``app``
    and sends ``process`` for each event the inbox (``inbox``, or every DjangoInbox of database
    ``using``) makes due (see the module docstring). ``queue``: the Celery queue to send to."""
    if not callable(getattr(app, "send_task", None)):
        raise TypeError("app must be a celery.Celery application")
    if inbox is not None and not isinstance(inbox, (DjangoInbox, str)):
        raise TypeError("inbox must be a DjangoInbox or its dotted path")
    return InboxTasks(app, inbox, inbox.using if isinstance(inbox, DjangoInbox) else using, queue)


__all__ = ["PROCESS", "SWEEP", "InboxTasks", "install"]
