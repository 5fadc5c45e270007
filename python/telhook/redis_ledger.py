"""The message status ledger on Redis (redis-py): one Lua script, which Redis runs atomically,
so concurrent reports of one message are applied one after the other and only ever raise it.

    from telhook.redis_ledger import RedisLedger
    ledger = RedisLedger(redis.Redis())
    result = ledger.apply(event)      # {"verdict": "applied" | "stale" | "after_final", "state": {...}}
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Dict, List, Mapping, Optional

from . import ledger_update
from ._api import call as _call
from .types import LedgerApplied


class RedisLedger:
    """Keys: ``<prefix>{<sha256 of the message key>}`` plus ``:seen`` and ``:parts`` (one hash
    slot per message, so it works on Redis Cluster too)."""

    def __init__(self, client: Any, prefix: str = "telhook:ledger:") -> None:
        texts = _call("ledger_stores")
        self._params: List[str] = texts["params"]
        self._script = client.register_script(texts["redis_script"])
        self._prefix = prefix

    def keys(self, provider: str, message_id: str, recipient: Optional[str]) -> List[str]:
        digest = hashlib.sha256(json.dumps([provider, message_id, recipient or ""]).encode()).hexdigest()
        base = f"{self._prefix}{{{digest}}}"
        return [base, base + ":seen", base + ":parts"]

    def apply(self, event: Mapping[str, Any]) -> LedgerApplied:
        update = ledger_update(event)
        values: Dict[str, Any] = dict(update)
        values["error"] = "" if update["error"] is None else json.dumps(update["error"])
        args = [_text(values[name]) for name in self._params]
        keys = self.keys(update["provider"], update["message_id"], update["recipient"])
        reply = self._script(keys=keys, args=args)
        verdict, status, rank, final, error, parts, seen, delivered = (_str(item) for item in reply)
        state = {
            "provider": update["provider"], "message_id": update["message_id"], "recipient": update["recipient"],
            "status": status, "rank": int(rank), "final": final == "1",
            "error": json.loads(error) if error else None,
            "seen": _pairs(seen), "parts": int(parts), "delivered_parts": _pairs(delivered),
        }
        return {"verdict": verdict, "state": state}  # type: ignore[typeddict-item]


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    return "" if value is None else str(value)


def _str(item: Any) -> Any:
    if isinstance(item, bytes):
        return item.decode()
    if isinstance(item, list):
        return [_str(x) for x in item]
    return item


def _pairs(flat: List[str]) -> Dict[str, str]:
    return dict(sorted(zip(flat[::2], flat[1::2])))
