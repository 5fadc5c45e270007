"""`manage.py telhook_worker`: processes the inbox's due events (see telhook.django.inbox)."""

from __future__ import annotations

import logging
import signal
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import close_old_connections

from ...inbox import load_inbox

logger = logging.getLogger("telhook.inbox")


class Command(BaseCommand):
    help = ("Process the telhook inbox: take due events (SELECT ... FOR UPDATE SKIP LOCKED), run their handler, "
            "record the outcome; purge done events past their retention. Run as many as you like.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--database", default="default", help="The inbox's database alias.")
        parser.add_argument("--inbox", default=None,
                            help="Dotted path of the DjangoInbox (default: the one built by your URLconf's views).")
        parser.add_argument("--once", action="store_true", help="Process what is due now, then exit.")
        parser.add_argument("--poll", type=float, default=1.0, help="Seconds to wait when nothing is due (1).")
        parser.add_argument("--purge-every", type=float, default=3600.0,
                            help="Seconds between purges of done events past their retention (3600; 0: never).")

    def handle(self, *args: Any, **options: Any) -> None:
        inbox = load_inbox(options["database"], options["inbox"])
        providers = inbox.providers()
        if providers == []:
            raise CommandError(f"{inbox!r} has no handler: decorate one with @webhook(..., inbox=inbox) or "
                               "inbox.handler(provider), in a module your URLconf (or --inbox) imports")
        logger.info("telhook_worker: inbox on %r, handlers for %s", inbox.using,
                    "every provider" if providers is None else ", ".join(providers) or "no provider")
        stopping = []

        def stop(signum: int, frame: Any) -> None:  # finish the event in hand, then exit
            stopping.append(signum)

        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, stop)
        last_purge = 0.0
        processed = 0
        while not stopping:
            try:
                if options["purge_every"] and time.monotonic() - last_purge >= options["purge_every"]:
                    last_purge = time.monotonic()
                    purged = inbox.purge()
                    if purged:
                        logger.info("telhook_worker: %s done events past their retention purged", purged,
                                    extra={"telhook_purged": purged})
                outcome = inbox.process()
            except Exception:  # the database is down or went away: log, reconnect, go on
                logger.exception("telhook_worker: processing failed; retrying in %s s", options["poll"])
                close_old_connections()
                if options["once"]:
                    raise
                time.sleep(options["poll"])
                continue
            if outcome is not None:
                processed += 1
                continue
            if options["once"]:
                break
            close_old_connections()  # as a request's end would (CONN_MAX_AGE, broken connections)
            time.sleep(options["poll"])
        if options["verbosity"] >= 1:
            self.stdout.write(f"{processed} inbox events processed")
