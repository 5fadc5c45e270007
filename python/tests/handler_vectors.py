"""Runs the handler vectors (tests/handlers/*.json) through any transport.

A transport takes (method, url, headers, body) and returns (status, headers, body); it is
built per vector around a handler that does what the current step says. Held handlers run in
a thread of their own, so that later steps of the vector arrive while they are inside.
"""

from __future__ import annotations

import json
import pathlib
import threading
import urllib.parse
from typing import Any, Callable, Dict, List, Optional, Tuple

from telhook.stores import MemoryStore

from vector_reader import code_of, handler_vector_paths, request_of

HANDLER_VECTORS = handler_vector_paths()

Reply = Tuple[int, Dict[str, str], bytes]
Transport = Callable[[str, str, List[Tuple[str, str]], bytes], Reply]


class HandlerFailure(RuntimeError):
    """What a vector's "raise" handler raises."""


class FakeClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Held:
    def __init__(self) -> None:
        self.entered = threading.Event()
        self.finish = threading.Event()
        self.outcome = "ok"


class Script:
    """The handler's behaviour for the delivery in flight, and the count of calls."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.calls = 0
        self.next: Any = None
        self.held: Optional[Held] = None

    def enter(self) -> Tuple[Any, Optional[Held]]:
        with self.lock:
            self.calls += 1
            behaviour, held = self.next, self.held
            self.next, self.held = None, None
            return behaviour, held

    def outcome(self, behaviour: Any, held: Optional[Held]) -> Optional[int]:
        """After a hold: what the handler does at the end; called outside the event loop."""
        if behaviour == "hold":
            assert held is not None
            held.entered.set()
            assert held.finish.wait(30), "held handler never finished"
            behaviour = held.outcome
        if behaviour == "raise":
            raise HandlerFailure("handler failed as the vector asks")
        if isinstance(behaviour, dict):
            return int(behaviour["status"])
        assert behaviour == "ok", f"unexpected handler behaviour {behaviour!r}"
        return None

    def handler(self) -> Optional[int]:
        """The sync handler's body."""
        return self.outcome(*self.enter())

    async def ahandler(self) -> Optional[int]:
        """The async handler's body: a hold waits without blocking the event loop."""
        import asyncio

        behaviour, held = self.enter()
        if behaviour == "hold":
            return await asyncio.to_thread(self.outcome, behaviour, held)
        return self.outcome(behaviour, held)


def failing(store_class: Any) -> Any:
    """`store_class`, whose claim breaks once when the vector's setup says so (an instance of it
    still, so adapters that recognize the store — Django's atomic database store — keep doing so)."""

    class Failing(store_class):  # type: ignore[misc, valid-type]
        def __init__(self, setup: "Setup", *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._setup = setup

        def claim(self, key: str, token: str, lease_secs: int) -> Any:
            broken, self._setup.broken_claim = self._setup.broken_claim, None
            if broken == "fails":
                raise ConnectionError("the vector's dedupe store is down")
            if broken == "answers_no_state":
                return None
            return super().claim(key, token, lease_secs)

        def complete(self, key: str, token: str, ttl_secs: int) -> Any:
            self._setup.settling()
            done = super().complete(key, token, ttl_secs)
            self._setup.settled += 1
            return done

        def release(self, key: str, token: str) -> Any:
            self._setup.settling()
            done = super().release(key, token)
            self._setup.settled += 1
            return done

    return Failing


class Setup:
    """What a transport factory gets for one vector."""

    def __init__(self, vector: Dict[str, Any]) -> None:
        self.vector = vector
        self.provider: Optional[str] = vector["provider"]
        self.credentials: Dict[str, Any] = vector["credentials"]
        # Receiver options the vector needs (Twilio's public_url), passed to every adapter.
        self.options: Dict[str, Any] = vector.get("options") or {}
        self.now: int = vector["now"]
        self.clock = lambda: self.now
        self.store_clock = FakeClock(float(vector["now"]))
        # A step's "store" ("fails", "answers_no_state"): how the next claim of any of the
        # vector's stores breaks.
        self.broken_claim: Optional[str] = None
        # "settle_fails": the delivery's first settling call (complete or release) raises;
        # `settled` counts the ones that held, which the runner waits for before the next step.
        self.broken_settle = False
        self.settled = 0
        self.store = failing(MemoryStore)(self, clock=self.store_clock)
        self.script = Script()

    def settling(self) -> None:
        broken, self.broken_settle = self.broken_settle, False
        if broken:
            raise ConnectionError("the vector's dedupe store blinked")

    def settled_again(self, name: str, index: int, before: int) -> None:
        """Waits (at most 10 s) until a settling call after the failed one held."""
        import time

        deadline = time.monotonic() + 10
        while self.settled == before:
            assert time.monotonic() < deadline, f"{name} step {index}: the failed settling call was not tried again"
            time.sleep(0.01)


def request_parts(deliver: Dict[str, Any]) -> Tuple[str, str, List[Tuple[str, str]], bytes]:
    """The delivery as the transports send it: to /hooks/vector, keeping the URL's query."""
    request = request_of(deliver)
    query = urllib.parse.urlsplit(request.url or "").query
    return request.method, "/hooks/vector" + ("?" + query if query else ""), request.headers, request.body


def check(name: str, index: int, expect: Dict[str, Any], reply: Reply) -> None:
    status, headers, body = reply
    got = {"status": status, "code": code_of(body)}
    want = {"status": expect["status"], "code": expect["code"]}
    assert got == want, f"{name} step {index}: {got} != {want}"
    for header, value in (expect.get("headers") or {}).items():
        assert headers.get(header.lower()) == value, f"{name} step {index}: header {header} {headers}"


def run_vector(name: str, vector: Dict[str, Any], make_transport: Callable[[Setup], Transport]) -> None:
    setup = Setup(vector)
    transport = make_transport(setup)
    script = setup.script
    pending: Dict[int, Tuple[threading.Thread, List[Reply], Held]] = {}
    for index, step in enumerate(vector["steps"]):
        if "advance_secs" in step:
            setup.store_clock.now += step["advance_secs"]
        elif "finish" in step:
            thread, replies, held = pending.pop(step["finish"])
            held.outcome = step["outcome"]
            held.finish.set()
            thread.join(30)
            assert not thread.is_alive() and replies, f"{name}: held delivery {step['finish']} did not answer"
            check(name, index, step["expect"], replies[0])
        else:
            setup.broken_claim = step.get("store")
            method, url, headers, body = request_parts(step["deliver"])
            if step["handler"] == "hold":
                held = Held()
                script.next, script.held = "hold", held
                replies: List[Reply] = []
                thread = threading.Thread(target=lambda: replies.append(transport(method, url, headers, body)))
                thread.start()
                while not held.entered.wait(0.01) and thread.is_alive():
                    pass
                pending[index] = (thread, replies, held)
                if not held.entered.is_set():  # answered without reaching the handler
                    script.next, script.held = None, None
                if "expect" in step and not thread.is_alive():
                    check(name, index, step["expect"], replies[0])
            else:
                script.next = step["handler"]
                setup.broken_settle = step.get("store") == "settle_fails"
                before = setup.settled
                reply = transport(method, url, headers, body)
                script.next = None
                check(name, index, step["expect"], reply)
                if step.get("store") == "settle_fails":
                    setup.settled_again(name, index, before)
    assert not pending, f"{name}: held deliveries never finished: {sorted(pending)}"
    assert script.calls == vector["expect_handler_calls"], f"{name}: {script.calls} handler calls"


def load(path: pathlib.Path) -> Dict[str, Any]:
    return dict(json.loads(path.read_text("utf-8")))
