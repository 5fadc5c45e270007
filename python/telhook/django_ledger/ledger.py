"""The ledger write for Django: one ``INSERT … ON CONFLICT DO UPDATE`` (the core's text for
PostgreSQL or SQLite) that only ever raises a message's status — never read-modify-write here,
so concurrent reports of one message cannot overwrite a better status.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional

from django.db import connections, transaction

from .. import ledger_update
from .._api import call as _call
from ..errors import ConfigurationError
from ..stores import column_key
from ..types import LedgerVerdict, StatusUpdate
from .models import MessageStatus
from .signals import event_received, message_status_changed


@dataclass(frozen=True)
class StatusChange:
    """What a report did (``applied``, ``stale``, ``after_final``) and the stored row after it."""

    verdict: LedgerVerdict
    status: MessageStatus


@functools.lru_cache(maxsize=None)
def _texts() -> Dict[str, Any]:
    texts: Dict[str, Any] = _call("ledger_stores")
    return texts


# The message id column's width (models.py); the recipient is E.164, a short code or an
# alphanumeric sender ID (the core's phone::message_address): 16 characters at most.
KEY_COLUMN_CHARS = 255


def _without_nul(value: Any) -> Any:
    """``value`` with NUL in its texts written as U+FFFD, as the core's inbox records an error:
    PostgreSQL's text and jsonb refuse it (an error description or an event id holding one made
    every delivery of that verified report a 500)."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, dict):
        return {_without_nul(key): _without_nul(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_without_nul(item) for item in value]
    return value


def _params(update: StatusUpdate) -> Dict[str, Any]:
    # The message id is a key: hashed, so that two ids differing only there stay two rows.
    values: Dict[str, Any] = {name: _without_nul(value) for name, value in update.items()}
    values["message_id"] = column_key(update["message_id"], KEY_COLUMN_CHARS)
    values["recipient"] = values["recipient"] or ""
    values["error"] = None if values["error"] is None else json.dumps(values["error"])
    return values


def apply(event: Mapping[str, Any], *, using: str = "default") -> StatusChange:
    """Applies a normalized message status event to the ledger; sends ``message_status_changed``
    when it raised the stored status. Raises ``RequestError`` (``invalid_request``) for an event
    without a status or message id, ``ConfigurationError`` for a database other than
    PostgreSQL or SQLite."""
    params = _params(ledger_update(event))
    connection = connections[using]
    # The row and the signal in one transaction: a receiver that raises rolls the row back, so
    # the provider's retry (the webhook answered 500) applies it again and the signal is sent
    # then. Committed first, the retry found the status already stored and no receiver heard.
    with transaction.atomic(using=using):
        return _apply(event, params, connection)


def _apply(event: Mapping[str, Any], params: Dict[str, Any], connection: Any) -> StatusChange:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(_texts()["postgres_upsert"], params)
        elif connection.vendor == "sqlite":
            positional: List[Any] = [params[name] for name in _texts()["params"]]
            cursor.execute(_texts()["sqlite_upsert"], positional)
        else:
            raise ConfigurationError(
                "invalid_configuration", "database: the ledger needs PostgreSQL or SQLite", "configuration", "database",
                "PostgreSQL or SQLite"
            )
        row = cursor.fetchone()
    status = MessageStatus(
        provider=params["provider"], message_id=params["message_id"], recipient=params["recipient"],
        status=row[0], rank=row[1], is_final=bool(row[2]), error=_json(row[3]), seen=_json(row[4]),
        parts=row[5], delivered_parts=_json(row[6]), last_verdict=row[7],
    )
    change = StatusChange(verdict=row[7], status=status)
    if change.verdict == "applied":
        message_status_changed.send(sender=MessageStatus, status=status, event=event, verdict=change.verdict)
    return change


def record(event: Mapping[str, Any], *, using: str = "default") -> Optional[StatusChange]:
    """Sends ``event_received`` for any event, then applies message status events (those with
    a status and a message id) to the ledger."""
    event_received.send(sender=event["provider"], event=event)
    message = event.get("message") or {}
    if event.get("status") is None or not message.get("id"):
        return None
    return apply(event, using=using)


def _json(value: Any) -> Any:
    # SQLite returns JSON columns as text, PostgreSQL (psycopg) as Python values.
    return json.loads(value) if isinstance(value, str) else value
