"""`manage.py telhook_replay`: runs stored inbox events again (the core's replay: pending, fresh attempts)."""

from __future__ import annotations

import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ...inbox import load_inbox

STATES = ("pending", "processing", "done", "failed", "dead")


def _unix(text: str) -> int:
    """UNIX seconds, or an ISO 8601 date/time (UTC unless it says otherwise)."""
    if text.isdigit():
        return int(text)
    try:
        moment = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise CommandError(f"not a time: {text!r} (UNIX seconds or ISO 8601)") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    return int(moment.timestamp())


class Command(BaseCommand):
    help = ("Replay telhook inbox events into their handler (not through the provider): by id, provider, type, "
            "time stored (--since/--until) or state. Filters combine; at least one is needed.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("ids", nargs="*", type=int, help="Inbox event ids.")
        parser.add_argument("--provider", help="Only this provider's events.")
        parser.add_argument("--type", help="Only events of this type (message.received, ...).")
        parser.add_argument("--since", help="Stored at or after (UNIX seconds or ISO 8601, UTC by default).")
        parser.add_argument("--until", help="Stored before (UNIX seconds or ISO 8601).")
        parser.add_argument("--state", choices=STATES, help="Only events in this state (e.g. dead).")
        parser.add_argument("--database", default="default", help="The inbox's database alias.")
        parser.add_argument("--inbox", default=None, help="Dotted path of the DjangoInbox (its policy).")
        parser.add_argument("--dry-run", action="store_true", help="Count the events, replay none.")

    def handle(self, *args: Any, **options: Any) -> None:
        from ...models import InboxEvent

        filters: dict[str, Any] = {}
        if options["ids"]:
            filters["pk__in"] = options["ids"]
        for name in ("provider", "type", "state"):
            if options[name]:
                filters[name] = options[name]
        if options["since"]:
            filters["created_at__gte"] = _unix(options["since"])
        if options["until"]:
            filters["created_at__lt"] = _unix(options["until"])
        if not filters:
            raise CommandError("say which events: ids, --provider, --type, --since/--until or --state")
        ids = list(InboxEvent.objects.using(options["database"]).filter(**filters).order_by("id")
                   .values_list("id", flat=True))
        if options["dry_run"]:
            self.stdout.write(f"{len(ids)} inbox events match")
            return
        try:
            inbox = load_inbox(options["database"], options["inbox"])
        except Exception:  # replay needs only the policy: settings.TELHOOK_INBOX
            from ...inbox import DjangoInbox

            inbox = DjangoInbox(options["database"])
        replayed, skipped = inbox.replay(ids)
        self.stdout.write(f"{replayed} inbox events replayed" + (f", {skipped} held by a worker skipped" if skipped else ""))
