"""Runs every inbox-mode vector (tests/inbox/*.json) through ``telhook.inbox.accept`` /
``aaccept`` and the memory inbox's worker steps: answers and states identical to the Rust
reference (core/tests/inbox.rs)."""

from __future__ import annotations

import asyncio
import json
import pathlib
from typing import Any, Dict, List, Optional

import pytest

import telhook
from telhook.inbox import MemoryInbox, StoredEvent, aaccept, accept
from telhook.types import NormalizedEvent

from vector_reader import INBOX_DIR, answered, request_of

PATHS = sorted(INBOX_DIR.glob("*.json"))


class Clock:
    def __init__(self, now: int) -> None:
        self.now = now

    def __call__(self) -> float:
        return float(self.now)


class FlakyInbox(MemoryInbox):
    """Its next enqueue fails (``"store": "fails"``) or finds another delivery storing the
    event (``"store": "in_progress"``)."""
    store: Any = None

    def enqueue(self, key: str, event: NormalizedEvent, dedupe_ttl_secs: int) -> Any:
        store, self.store = self.store, None
        if store == "fails":
            raise ConnectionError("the inbox is down")
        if store == "in_progress":
            return "in_progress"
        return super().enqueue(key, event, dedupe_ttl_secs)


class HandlerError(Exception):
    pass


def run(vector: Dict[str, Any], asynchronous: bool) -> None:
    clock = Clock(vector["now"])
    receiver = telhook.Receiver(vector["provider"], vector["credentials"], clock=clock, **(vector.get("options") or {}))
    inbox = FlakyInbox(policy=telhook.inbox.InboxPolicy(**vector["policy"]), clock=clock)
    calls = 0
    for index, step in enumerate(vector["steps"]):
        where = f"step {index}"
        if "deliver" in step:
            inbox.store = step.get("store")
            request = request_of(step["deliver"])
            kwargs: Dict[str, Any] = dict(method=request.method, url=request.url, headers=request.headers,
                                          body=request.body, inbox=inbox)
            response = asyncio.run(aaccept(receiver, **kwargs)) if asynchronous else accept(receiver, **kwargs)
            assert answered(response.status, response.headers, response.body, step["expect"]) == step["expect"], where
            continue
        if "advance_secs" in step:
            clock.now += step["advance_secs"]
            continue
        if "work" in step:
            taken: List[StoredEvent] = inbox.claim_due()
            assert len(taken) == len(step["work"]), where
            for stored, outcome in zip(taken, step["work"]):
                calls += 1
                if outcome == "ok":
                    inbox.record(stored, None)
                elif outcome == "raise":
                    inbox.record(stored, HandlerError("the handler raised"))
                else:
                    assert outcome == "die", outcome  # the worker vanishes: nothing is recorded
        elif "replay" in step:
            assert inbox.replay(step["replay"]), where
        elif "purge" in step:
            inbox.purge()
        else:
            raise AssertionError(f"{where}: unknown step")
        assert [stored.record["state"] for stored in inbox.events] == step["expect_states"], where
    assert calls == vector["expect_handler_calls"]


def test_there_are_inbox_vectors() -> None:
    assert len(PATHS) >= 30


@pytest.mark.parametrize("path", PATHS, ids=[path.stem for path in PATHS])
@pytest.mark.parametrize("asynchronous", [False, True], ids=["accept", "aaccept"])
def test_inbox_vector(path: pathlib.Path, asynchronous: bool) -> None:
    run(json.loads(path.read_text("utf-8")), asynchronous)


def test_a_failed_attempt_keeps_the_error_type_and_a_bounded_message() -> None:
    clock = Clock(1_769_000_000)
    inbox = MemoryInbox(policy=telhook.inbox.InboxPolicy(max_attempts=2), clock=clock)
    event: Any = {"id": "x"}
    assert inbox.enqueue("x", event, 60) == "new"
    assert inbox.enqueue("x", event, 60) == "duplicate"

    def handler(event: NormalizedEvent) -> None:
        raise ValueError("no such customer " + "x" * 2_000)

    assert inbox.work(handler) == 1
    record = inbox.events[0].record
    assert (record["state"], record["last_error_code"], record["attempts"]) == ("failed", "ValueError", 1)
    assert len(record["last_error_message"] or "") == 500
    clock.now += 30
    assert inbox.work(handler) == 1 and inbox.events[0].record["state"] == "dead"
    assert inbox.work(handler) == 0


def test_a_bad_policy_fails_when_built_naming_the_option() -> None:
    for options in ({"max_attempts": 0}, {"lease_secs": "5m"}, {"backoff_secs": 60, "max_backoff_secs": 10}):
        with pytest.raises(telhook.ConfigurationError) as raised:
            telhook.inbox.InboxPolicy(**options)
        assert raised.value.code == "invalid_option"
        assert next(iter(options)) in str(raised.value) or "max_backoff_secs" in str(raised.value)


def test_an_object_without_enqueue_is_a_type_error() -> None:
    receiver = telhook.Receiver("lisoloo", {"basic": [{"username": "u", "password": "p"}]})
    with pytest.raises(TypeError, match="enqueue"):
        accept(receiver, method="POST", url=None, headers={}, body=b"", inbox=object())  # type: ignore[arg-type]
