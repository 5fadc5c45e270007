#!/usr/bin/env python3
"""Writes the inbox-mode vectors (tests/inbox/*.json): the receive contract when the store is an
inbox (store the event with its key in one atomic step, answer at once), and the worker's
processing of what was stored (claims, retries with backoff, dead letters, replay, a worker
that dies holding an event, purge after the retention).

A vector is `{description, provider, credentials, now, policy, steps, expect_handler_calls}`.
Steps, run in order against one in-memory inbox and one clock:
- `{"deliver": request, "expect": {status, code[, headers]}}` (with `"store": "fails"`: the
  enqueue fails; with `"store": "in_progress"`: it finds another delivery of the event being
  stored right now, and stores nothing; `headers`: only those listed are compared);
- `{"advance_secs": n}`;
- `{"work": [outcome…], "expect_states": [state…]}`: one worker pass at the current time over
  every due event in the order stored; the handler is called once per outcome, in order
  (`ok`, `raise`, or `die`: the handler runs and its worker vanishes before recording
  anything); then the states of all stored events, in the order stored;
- `{"replay": index, "expect_states": […]}`: an operator replays the stored event `index`;
- `{"purge": true, "expect_states": […]}`: done events past their retention are deleted.
The expectations are written here from the rules (core/src/inbox.rs), not from its output.

Run: python3 tests/inbox/generate.py [OUT_DIR]  (default: this directory)
"""

from __future__ import annotations

import json
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent / "handlers"))
import generate as handlers  # noqa: E402  (the handler vectors' requests and answers)

QUEUED = handlers.answer(200, "queued")
DUPLICATE = handlers.DUPLICATE
STORE_DOWN = handlers.answer(503, "dedupe_unavailable")
# The defaults of core/src/inbox.rs InboxPolicy, restated: the vectors pin them.
LEASE_SECS = 300
RETENTION_SECS = 7 * 86_400


def deliver(request: dict, expect: dict, **extra: str) -> dict:
    return {"deliver": request, "expect": expect, **extra}


def work(outcomes: list, states: list) -> dict:
    return {"work": outcomes, "expect_states": states}


def scenarios(provider: str) -> dict[str, dict]:
    base = handlers.load(handlers.BASE[provider])
    request = handlers.request_of(base)
    forged = handlers.load(handlers.FORGED[provider])
    odd = handlers.load(handlers.ODD_SHAPE[provider])
    out: dict[str, dict] = {}

    def vector(name: str, description: str, steps: list, calls: int, policy: dict | None = None) -> None:
        out[f"{provider}_{name}"] = {
            "description": description,
            "provider": provider,
            "credentials": base["credentials"],
            "now": base["now"],
            "policy": policy or {},
            "steps": steps,
            "expect_handler_calls": calls,
        }
        if provider in handlers.OPTIONS:
            out[f"{provider}_{name}"]["options"] = handlers.OPTIONS[provider]

    vector("queued_then_processed_once",
           "Inbox mode: the event is stored and answered 200 queued before any handler runs; its "
           "redeliveries are duplicates and store nothing; the worker handles it once",
           [deliver(request, QUEUED), deliver(request, DUPLICATE), {"advance_secs": 1},
            deliver(request, DUPLICATE), work(["ok"], ["done"]), deliver(request, DUPLICATE),
            work([], ["done"])], 1)
    vector("forged_is_not_stored", "A forged delivery is refused and nothing is stored",
           [deliver(handlers.request_of(forged), handlers.answer(401, forged["expect"]["error"])),
            work([], [])], 0)
    vector("odd_shape_is_stored", "An authentic body of an unexpected shape is stored and handled",
           [deliver(handlers.request_of(odd), QUEUED), work(["ok"], ["done"])], 1)
    vector("store_fails_then_recovers",
           "The inbox cannot store the event: 503 (every provider retries), nothing acknowledged; the "
           "retry is stored and handled once",
           [deliver(request, STORE_DOWN, store="fails"), work([], []), deliver(request, QUEUED),
            work(["ok"], ["done"])], 1)
    vector("copy_while_another_is_being_stored",
           "A copy that arrives while another delivery of the event is being stored (its transaction "
           "holds the key) is answered 503 delivery_in_progress with the provider's Retry-After, not a "
           "store failure; nothing is stored for it; the provider's retry finds the event stored",
           [deliver(request, handlers.in_progress(provider), store="in_progress"), work([], []),
            deliver(request, QUEUED), deliver(request, DUPLICATE), work(["ok"], ["done"])], 1)
    vector("failed_attempt_is_retried",
           "A handler that raises leaves the event failed, due again after the backoff (30 s), not before",
           [deliver(request, QUEUED), work(["raise"], ["failed"]), {"advance_secs": 29},
            work([], ["failed"]), {"advance_secs": 1}, work(["ok"], ["done"])], 2)
    return out


def common() -> dict[str, dict]:
    base = handlers.load(handlers.BASE["limephone"])
    request = handlers.request_of(base)

    def vector(description: str, steps: list, calls: int, policy: dict | None = None) -> dict:
        return {
            "description": description,
            "provider": "limephone",
            "credentials": base["credentials"],
            "now": base["now"],
            "policy": policy or {},
            "steps": steps,
            "expect_handler_calls": calls,
        }
        if provider in handlers.OPTIONS:
            out[f"{provider}_{name}"]["options"] = handlers.OPTIONS[provider]

    vectors = {
        "common_dead_after_max_attempts_then_replayed": vector(
            "A handler that always fails: retried after 30 s and 60 s, dead after the third attempt "
            "(max_attempts 3), never run again on its own; replayed by an operator once the handler is "
            "fixed, it is handled",
            [deliver(request, QUEUED), work(["raise"], ["failed"]), {"advance_secs": 30},
             work(["raise"], ["failed"]), {"advance_secs": 59}, work([], ["failed"]),
             {"advance_secs": 1}, work(["raise"], ["dead"]), {"advance_secs": 86_400},
             work([], ["dead"]), {"replay": 0, "expect_states": ["pending"]},
             work(["ok"], ["done"])], 4, {"max_attempts": 3}),
        "common_worker_dies_mid_handler": vector(
            "A worker killed inside the handler: the event stays processing until its lease ends "
            "(300 s), then another worker handles it, once",
            [deliver(request, QUEUED), work(["die"], ["processing"]), {"advance_secs": LEASE_SECS - 1},
             work([], ["processing"]), {"advance_secs": 1}, work(["ok"], ["done"]),
             {"advance_secs": LEASE_SECS}, work([], ["done"])], 2),
        "common_worker_dies_every_time_is_dead": vector(
            "A handler that kills its worker on every attempt ends dead, not in a loop (max_attempts 2)",
            [deliver(request, QUEUED), work(["die"], ["processing"]), {"advance_secs": 60},
             work(["die"], ["processing"]), {"advance_secs": 60}, work([], ["dead"])], 2,
            {"max_attempts": 2, "lease_secs": 60}),
        "common_done_is_kept_for_the_retention_then_purged": vector(
            "A done event is kept (visible, replayable) for the retention (7 days), then purged",
            [deliver(request, QUEUED), work(["ok"], ["done"]), {"advance_secs": RETENTION_SECS - 1},
             {"purge": True, "expect_states": ["done"]}, {"advance_secs": 1},
             {"purge": True, "expect_states": []}], 1),
    }
    on = handlers.request_of(handlers.load("did_reseller/dids_update.json"))
    off = handlers.request_of(handlers.load("did_reseller/dids_update_sms_off.json"))
    did = handlers.load("did_reseller/dids_update.json")
    vectors["did_reseller_toggled_on_off_on_is_three_stored_events"] = {
        "description": "The inbox keeps a key only for the provider's dedupe window, not the retention: a "
                       "DID switched on, off and on again a minute apart is three stored events (the first "
                       "and third bodies are identical), and a redelivery inside the window is a duplicate",
        "provider": "did_reseller",
        "credentials": did["credentials"],
        "now": did["now"],
        "policy": {},
        "steps": [deliver(on, QUEUED), {"advance_secs": 10}, deliver(on, DUPLICATE), {"advance_secs": 50},
                  deliver(off, QUEUED), {"advance_secs": 60}, deliver(on, QUEUED),
                  work(["ok", "ok", "ok"], ["done", "done", "done"])],
        "expect_handler_calls": 3,
    }
    return vectors


def main() -> None:
    vectors: dict[str, dict] = {}
    for provider in handlers.BASE:
        vectors.update(scenarios(provider))
    vectors.update(common())
    out = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.json"):
        old.unlink()
    for name, vector in sorted(vectors.items()):
        (out / f"{name}.json").write_text(json.dumps(vector, indent=2, sort_keys=True) + "\n")
    print(f"wrote {len(vectors)} inbox vectors to {out}")


if __name__ == "__main__":
    main()
