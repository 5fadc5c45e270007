"""`manage.py telhook_purge`: deletes the dedupe rows whose lease or dedupe TTL has passed."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from ....stores import DjangoDatabaseStore


class Command(BaseCommand):
    help = "Delete telhook dedupe rows whose lease or dedupe TTL has passed (run it daily)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--database", default="default", help="The database alias of DjangoDatabaseStore.")

    def handle(self, *args: Any, **options: Any) -> None:
        deleted = DjangoDatabaseStore(using=options["database"]).purge_expired()
        self.stdout.write(f"{deleted} expired dedupe rows deleted")
