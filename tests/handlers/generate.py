#!/usr/bin/env python3
"""Writes the receive-path vectors (tests/handlers/*.json) from the conformance vectors.

Each vector is a sequence of deliveries with what the user's handler does (and, with
`"store": "fails"`, a dedupe store whose claim fails for that delivery; with
`"store": "answers_no_state"`, one whose claim answers null; with `"store": "settle_fails"`, one
whose first settling call — complete or release — fails for that delivery, and the runner waits
until a later one holds), and the answer
every adapter must give (status, code, required headers) plus the handler's call count. The
requests are taken verbatim from tests/vectors/, so they are signed independently of the core.
The expected answers are written out here by hand from the contract's rules (see
core/src/receive.rs): they are the specification, not the core's output.

Run it again after changing it; `make vectors-check` fails when the files are stale.
Run: python3 tests/handlers/generate.py [OUT_DIR]  (default: this directory)
"""

from __future__ import annotations

import json
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent
VECTORS = ROOT.parent / "vectors"

# One valid delivery per provider, and refused ones sharing its credentials.
BASE = {
    "limephone": "limephone/doc_incoming_call.json",
    "lisoloo": "lisoloo/doc_envelope_delivered.json",
    "gatewayapi": "gatewayapi/legacy_dlr_jwt.json",
    "looplookup": "looplookup/doc_full_result.json",
    "did_reseller": "did_reseller/dids_insert.json",
    "vonage": "vonage/status_delivered.json",
    "telnyx": "telnyx/message_finalized_delivered.json",
    "twilio": "twilio/status_delivered.json",
}
FORGED = {
    "limephone": "limephone/err_wrong_secret.json",
    "lisoloo": "lisoloo/err_wrong_password.json",
    "gatewayapi": "gatewayapi/err_jwt_wrong_secret.json",
    "looplookup": "looplookup/err_wrong_authorization.json",
    "did_reseller": "did_reseller/err_wrong_token.json",
    "vonage": "vonage/err_wrong_secret.json",
    "telnyx": "telnyx/err_wrong_key.json",
    "twilio": "twilio/err_wrong_token.json",
}
UNREADABLE = {
    "limephone": "limephone/err_malformed_json.json",
    "lisoloo": "lisoloo/err_malformed_json.json",
    "looplookup": "looplookup/err_malformed_json.json",
    "did_reseller": "did_reseller/err_doc_curly_quotes.json",
    "vonage": "vonage/err_malformed_json.json",
    "telnyx": "telnyx/err_malformed_json.json",
}
# Authentic bodies of a shape telhook does not expect: handled all the same (issue 26).
ODD_SHAPE = {
    "limephone": "limephone/shape_event_not_string.json",
    "lisoloo": "lisoloo/shape_missing_event_id.json",
    "gatewayapi": "gatewayapi/shape_empty_object.json",
    "looplookup": "looplookup/shape_missing_request_id.json",
    "did_reseller": "did_reseller/shape_unknown_change_type.json",
    "vonage": "vonage/shape_status_and_timestamp_unreadable.json",
    "telnyx": "telnyx/shape_recipients_not_a_list.json",
    "twilio": "twilio/shape_unreadable_counts.json",
}
# Receiver options a provider's vectors need. Twilio signs the URL it calls, which no transport
# here reproduces (each sends to its own host and path): the receiver is told the URL, as
# behind a proxy (`public_url`, the URL set in Twilio's console).
OPTIONS = {"twilio": {"public_url": "https://hooks.example.com/twilio/sms"}}
# Providers that deliver with GET too (their 405 names both methods).
SENDS_GET = {"twilio", "vonage"}
# What each provider does with a status other than its acknowledgement (from its docs):
# only Lisoloo drops on a 4xx, so a 409 chosen by the handler ends the event there and is
# retried everywhere else (the claim is released so the redelivery is handled).
DROPS_ON_4XX = {"lisoloo"}
# Providers whose only acknowledgement is 200 (their docs): any other 2xx is retried.
ONLY_200 = {"limephone", "looplookup"}
# Seconds a provider may take to give up on an attempt: the Retry-After of a 503 "in progress".
TIMEOUT_SECS = {"limephone": 5, "lisoloo": 5, "gatewayapi": 5, "looplookup": 15, "did_reseller": 15, "vonage": 5,
                "telnyx": 2, "twilio": 15}
DEDUPE_TTL_SECS_LIMEPHONE = 86_400
IN_PROGRESS_LEASE_SECS = 300
# Telnyx's lease: half the time to its last redelivery (core/src/retry.rs), 30 s of delays / 2.
TELNYX_LEASE_SECS = 15


def load(name: str) -> dict:
    return json.loads((VECTORS / name).read_text())


def request_of(vector: dict) -> dict:
    return vector["request"]


def answer(status: int, code: str, **headers: str) -> dict:
    expect: dict = {"status": status, "code": code}
    if headers:
        expect["headers"] = {name.replace("_", "-"): value for name, value in headers.items()}
    return expect


ACCEPTED = answer(200, "accepted")
DUPLICATE = answer(200, "duplicate")
HANDLER_FAILED = answer(500, "handler_failed")


def in_progress(provider: str) -> dict:
    return answer(503, "delivery_in_progress", retry_after=str(TIMEOUT_SECS[provider]))


def deliver(request: dict, handler: object, expect: dict | None) -> dict:
    step: dict = {"deliver": request, "handler": handler}
    if expect is not None:
        step["expect"] = expect
    return step


def scenarios(provider: str) -> dict[str, dict]:
    base = load(BASE[provider])
    request = request_of(base)
    forged = load(FORGED[provider])
    assert forged["credentials"] == base["credentials"], provider
    out: dict[str, dict] = {}

    def vector(name: str, description: str, steps: list, calls: int) -> None:
        out[f"{provider}_{name}"] = {
            "description": description,
            "provider": provider,
            "credentials": base["credentials"],
            "now": base["now"],
            "steps": steps,
            "expect_handler_calls": calls,
        }
        if provider in OPTIONS:
            out[f"{provider}_{name}"]["options"] = OPTIONS[provider]

    vector("accepted_once", "One delivery, handler succeeds: 200 accepted",
           [deliver(request, "ok", ACCEPTED)], 1)
    vector("redelivery_is_duplicate", "A redelivery after success is acknowledged, not handled again",
           [deliver(request, "ok", ACCEPTED), deliver(request, "ok", DUPLICATE),
            deliver(request, "ok", DUPLICATE)], 1)
    vector("failed_handler_is_retried",
           "A handler that raises answers 500 and releases the claim: the redelivery is handled",
           [deliver(request, "raise", HANDLER_FAILED), deliver(request, "ok", ACCEPTED),
            deliver(request, "ok", DUPLICATE)], 2)
    vector("redelivery_while_in_progress_then_ok",
           "A redelivery while the first is still in the handler must make the provider retry (503), "
           "never 200: the first may still fail",
           [deliver(request, "hold", None),
            deliver(request, "ok", in_progress(provider)),
            {"finish": 0, "outcome": "ok", "expect": ACCEPTED},
            deliver(request, "ok", DUPLICATE)], 1)
    vector("redelivery_while_in_progress_then_fails",
           "The first attempt fails after a redelivery was told to retry: the next delivery is handled",
           [deliver(request, "hold", None),
            deliver(request, "ok", in_progress(provider)),
            {"finish": 0, "outcome": "raise", "expect": HANDLER_FAILED},
            deliver(request, "ok", ACCEPTED),
            deliver(request, "ok", DUPLICATE)], 2)
    refused_again = DUPLICATE if provider in DROPS_ON_4XX else answer(409, "handler_status")
    vector("handler_chooses_status",
           "The handler refuses the event with its own 409; the claim is completed only where the "
           "provider will not send it again",
           [deliver(request, {"status": 409}, answer(409, "handler_status")),
            deliver(request, {"status": 409}, refused_again)],
           1 if provider in DROPS_ON_4XX else 2)
    vector("handler_chooses_2xx", "The handler answers 200 itself: acknowledged and completed",
           [deliver(request, {"status": 200}, answer(200, "handler_status")),
            deliver(request, "ok", DUPLICATE)], 1)
    if provider in ONLY_200:
        vector("handler_chooses_204",
               f"{provider} acknowledges only 200: a handler's 204 is answered as chosen and the claim is "
               "completed (a 2xx is the handler's work done; the warning says the provider will deliver "
               "again), so the redelivery is a duplicate and the handler runs once (it ran on every "
               "redelivery, a review)",
               [deliver(request, {"status": 204}, answer(204, None)),  # no body, so no code
                deliver(request, "ok", DUPLICATE)], 1)
    else:
        vector("handler_chooses_204", "A 2xx acknowledges this provider: no body, completed",
               [deliver(request, {"status": 204}, answer(204, None)),  # no body, so no code
                deliver(request, "ok", DUPLICATE)], 1)
    vector("handler_status_out_of_range",
           "A handler status outside 100..599 is a failed handler (the receive machine checks the range, "
           "no adapter does): 500, claim released, the redelivery is handled",
           [deliver(request, {"status": 700}, HANDLER_FAILED), deliver(request, "ok", ACCEPTED),
            deliver(request, "ok", DUPLICATE)], 2)
    vector("forged_is_refused", "A forged delivery never reaches the handler",
           [deliver(request_of(forged), "ok", answer(401, forged["expect"]["error"])),
            deliver(request, "ok", ACCEPTED)], 1)
    if provider in UNREADABLE:
        unreadable = load(UNREADABLE[provider])
        assert unreadable["credentials"] == base["credentials"], provider
        vector("unreadable_is_refused", "An authentic body that is not JSON is a 400, handler not called",
               [deliver(request_of(unreadable), "ok", answer(400, unreadable["expect"]["error"]))], 0)
    odd = load(ODD_SHAPE[provider])
    assert odd["credentials"] == base["credentials"] and "event" in odd["expect"], provider
    vector("odd_shape_is_handled", "A verified body of an unexpected shape is an event: handled, 200 "
           "(refusing it would lose it), and its redelivery is a duplicate",
           [deliver(request_of(odd), "ok", ACCEPTED), deliver(request_of(odd), "ok", DUPLICATE)], 1)
    if provider == "twilio":
        # Shared keys (public beta): the settings header names a key the receiver lacks.
        unconfigured = load("twilio/shared_key_err_not_configured.json")
        assert unconfigured["credentials"] == base["credentials"], provider
        vector("shared_key_not_configured_is_500",
               "A delivery signed with a Webhooks Setting's shared key to a receiver configured with the Auth "
               "Token only: the receiver's misconfiguration, 500 missing_credentials (never a 4xx that drops "
               "the event), handler not called",
               [deliver(request_of(unconfigured), "ok", answer(500, "missing_credentials"))], 0)
    if provider == "gatewayapi":
        charges = [request_of(load(f"gatewayapi/public_legacy_dlr_charge_{charge}.json"))
                   for charge in ("authorized", "captured", "refunded")]
        vector("charge_status_reports_are_three_events",
               "A charged SMS: DELIVERED is reported again per charge_status (AUTHORIZED, CAPTURED, "
               "REFUNDED): three events, handled three times; a redelivered one is a duplicate",
               [deliver(charges[0], "ok", ACCEPTED), deliver(charges[1], "ok", ACCEPTED),
                deliver(charges[1], "ok", DUPLICATE), deliver(charges[2], "ok", ACCEPTED)], 3)
    if provider == "lisoloo":
        gzipped = load("common/gzip_body_basic_is_inflated.json")
        inflated = load("common/gzip_header_on_a_body_already_inflated.json")
        assert gzipped["credentials"] == inflated["credentials"] == base["credentials"], provider
        vector("gzip_body_is_handled",
               "A body sent with Content-Encoding: gzip reaches the handler inflated, through every adapter "
               "(it was a 400, which Lisoloo drops); the same event inflated by a parser before the adapter "
               "is its duplicate",
               [deliver(request_of(gzipped), "ok", ACCEPTED), deliver(request_of(inflated), "ok", DUPLICATE)], 1)
    if provider == "did_reseller":
        on = request_of(load("did_reseller/dids_update.json"))
        off = request_of(load("did_reseller/dids_update_sms_off.json"))
        vector("toggled_on_off_on_is_three_events",
               "A DID's SMS switched on, off and on again a minute apart: the first and third bodies are "
               "identical, yet real changes. The dedupe window is only the redelivery horizon (2 x 15 s), "
               "so all three reach the handler; a redelivery inside it is a duplicate",
               [deliver(on, "ok", ACCEPTED), {"advance_secs": 10}, deliver(on, "ok", DUPLICATE),
                {"advance_secs": 50}, deliver(off, "ok", ACCEPTED), {"advance_secs": 60},
                deliver(on, "ok", ACCEPTED)], 3)
    store_down = dict(deliver(request, "ok", answer(503, "dedupe_unavailable")), store="fails")
    vector("store_fails_then_recovers",
           "The dedupe store fails the claim (down, timed out): 503 dedupe_unavailable, which every provider "
           "retries, and the handler is not called; the retry, with the store back, is handled once",
           [store_down, deliver(request, "ok", ACCEPTED), deliver(request, "ok", DUPLICATE)], 1)
    if provider in SENDS_GET:
        wrong_method = dict(request, method="PUT")
        vector("wrong_method", "PUT is 405 with Allow: GET, POST (the provider delivers with both)",
               [deliver(wrong_method, "ok", answer(405, "method_not_allowed", allow="GET, POST"))], 0)
    else:
        wrong_method = dict(request, method="GET")
        vector("wrong_method", "GET is 405 with Allow: POST",
               [deliver(wrong_method, "ok", answer(405, "method_not_allowed", allow="POST"))], 0)
    return out


def common() -> dict[str, dict]:
    base = load(BASE["limephone"])
    request = request_of(base)
    too_large = {key: value for key, value in request.items() if key != "body"}
    too_large["body_repeat"] = {"text": "a", "times": 1024 * 1024 + 1}
    lisoloo = load(BASE["lisoloo"])
    lisoloo_too_large = {key: value for key, value in request_of(lisoloo).items() if key != "body"}
    lisoloo_too_large["body_repeat"] = {"text": "a", "times": 1024 * 1024 + 1}
    expired = {
        "description": "After the dedupe TTL the key is forgotten (the provider stopped retrying long ago)",
        "provider": "limephone",
        "credentials": base["credentials"],
        "now": base["now"],
        "steps": [deliver(request, "ok", ACCEPTED), {"advance_secs": DEDUPE_TTL_SECS_LIMEPHONE - 1},
                  deliver(request, "ok", DUPLICATE), {"advance_secs": 2},
                  deliver(request, "ok", ACCEPTED)],
        "expect_handler_calls": 2,
    }
    crashed = {
        "description": "A worker died inside the handler: its claim expires after the lease and a "
                       "redelivery is handled",
        "provider": "limephone",
        "credentials": base["credentials"],
        "now": base["now"],
        "steps": [deliver(request, "hold", None),
                  deliver(request, "ok", in_progress("limephone")),
                  {"advance_secs": IN_PROGRESS_LEASE_SECS + 1},
                  deliver(request, "ok", ACCEPTED),
                  {"finish": 0, "outcome": "raise", "expect": HANDLER_FAILED},
                  deliver(request, "ok", DUPLICATE)],
        "expect_handler_calls": 2,
    }
    telnyx = load(BASE["telnyx"])
    telnyx_request = request_of(telnyx)
    telnyx_crashed = {
        "description": "Telnyx redelivers within seconds (3 attempts, then the failover URL): the lease of a "
                       "crashed worker's claim follows its schedule (15 s, half the time to the last "
                       "redelivery), so a redelivery after it is handled and the event is not lost",
        "provider": "telnyx",
        "credentials": telnyx["credentials"],
        "now": telnyx["now"],
        "steps": [deliver(telnyx_request, "hold", None),
                  deliver(telnyx_request, "ok", in_progress("telnyx")),
                  {"advance_secs": TELNYX_LEASE_SECS + 1},
                  deliver(telnyx_request, "ok", ACCEPTED),
                  {"finish": 0, "outcome": "raise", "expect": HANDLER_FAILED},
                  deliver(telnyx_request, "ok", DUPLICATE)],
        "expect_handler_calls": 2,
    }
    gather = load("telnyx/texml_gather_action.json")
    gather_again = load("telnyx/texml_gather_same_input_again.json")
    recording = load("telnyx/texml_recording_completed.json")
    recording_again = load("telnyx/texml_recording_completed_redelivered.json")
    undetectable = load("common/err_undetectable.json")
    return {
        "telnyx_texml_recording_redelivered_is_duplicate": {
            "description": "A TeXML recording callback redelivered 30 s later, signed anew (telnyx-timestamp is "
                           "when it was sent): the same event, answered duplicate, never handled twice",
            "provider": "telnyx",
            "credentials": recording["credentials"],
            "now": recording["now"],
            "steps": [deliver(request_of(recording), "ok", ACCEPTED),
                      {"advance_secs": recording_again["now"] - recording["now"]},
                      deliver(request_of(recording_again), "ok", DUPLICATE)],
            "expect_handler_calls": 1,
        },
        "telnyx_texml_same_gather_input_twice_is_handled_twice": {
            "description": "A caller presses 1 at two menus of one call: TeXML sends the same <Gather> body twice "
                           "(developers.telnyx.com's TexmlGatherWebhook has no time and no sequence number), each "
                           "signed anew; both are handled, and a replay of the first signed request is a duplicate",
            "provider": "telnyx",
            "credentials": gather["credentials"],
            "now": gather["now"],
            "steps": [deliver(request_of(gather), "ok", ACCEPTED),
                      {"advance_secs": gather_again["now"] - gather["now"]},
                      deliver(request_of(gather_again), "ok", ACCEPTED),
                      deliver(request_of(gather), "ok", DUPLICATE)],
            "expect_handler_calls": 2,
        },
        "telnyx_crashed_worker_lease_follows_the_schedule": telnyx_crashed,
        "common_body_too_large": {
            "description": "A body over the 1 MiB cap is 413 (the adapter stops reading at the cap)",
            "provider": "limephone",
            "credentials": base["credentials"],
            "now": base["now"],
            "steps": [deliver(too_large, "ok", answer(413, "body_too_large"))],
            "expect_handler_calls": 0,
        },
        "lisoloo_body_too_large_is_retried": {
            "description": "A body over the receiver's cap to Lisoloo, which drops an event on any 4xx: 500 "
                           "body_too_large (the cap is the receiver's setting), so the event is kept until the cap "
                           "is raised; the handler is not called",
            "provider": "lisoloo",
            "credentials": lisoloo["credentials"],
            "now": lisoloo["now"],
            "steps": [deliver(lisoloo_too_large, "ok", answer(500, "body_too_large"))],
            "expect_handler_calls": 0,
        },
        "detected_body_too_large_is_retried": {
            "description": "A body over the cap when no provider is named: 500 body_too_large, as to Lisoloo (it "
                           "may be Lisoloo's, which drops an event on any 4xx), so the event is kept until the cap "
                           "is raised; the handler is not called",
            "provider": None,
            "credentials": {"lisoloo": lisoloo["credentials"], "limephone": base["credentials"]},
            "now": lisoloo["now"],
            "steps": [deliver(lisoloo_too_large, "ok", answer(500, "body_too_large"))],
            "expect_handler_calls": 0,
        },
        "common_dedupe_ttl_expires": expired,
        "common_crashed_worker_lease_expires": crashed,
        "common_detected_provider": {
            "description": "No provider named: detection picks it (credentials per provider), dedupe and answers "
                           "are the same",
            "provider": None,
            "credentials": {"limephone": base["credentials"]},
            "now": base["now"],
            "steps": [deliver(request, "ok", ACCEPTED), deliver(request, "ok", DUPLICATE)],
            "expect_handler_calls": 1,
        },
        "common_store_answers_no_state": {
            "description": "The dedupe store's claim answers no state at all (None, null: a broken store, not one "
                           "that raised): the receive machine's rule for a state outside new/in_progress/done, "
                           "503 dedupe_unavailable as for a store that is down, never an exception out of the "
                           "adapter; the retry, with the store answering again, is handled once. A typed store "
                           "(Rust) cannot answer this and fails the claim instead",
            "provider": "limephone",
            "credentials": base["credentials"],
            "now": base["now"],
            "steps": [dict(deliver(request, "ok", answer(503, "dedupe_unavailable")), store="answers_no_state"),
                      deliver(request, "ok", ACCEPTED), deliver(request, "ok", DUPLICATE)],
            "expect_handler_calls": 1,
        },
        "common_complete_fails_then_is_tried_again": {
            "description": "The store's complete fails once as the handler ends (a store blip): the handler's "
                           "answer stands (200), and the complete is tried again in the background until it "
                           "holds, so the provider's redelivery (it may never have got the answer) is a duplicate, "
                           "not held off as in progress and then handled a second time. A step's \"settle_fails\" "
                           "fails that delivery's first settling call; the runner waits (at most 10 s) until a "
                           "later one holds before the next step",
            "provider": "limephone",
            "credentials": base["credentials"],
            "now": base["now"],
            "steps": [dict(deliver(request, "ok", ACCEPTED), store="settle_fails"),
                      deliver(request, "ok", DUPLICATE)],
            "expect_handler_calls": 1,
        },
        "common_release_fails_then_is_tried_again": {
            "description": "The handler raises and the store's release fails once: 500, and the release is tried "
                           "again in the background until it holds, so the redelivery is handled, not held off "
                           "as in progress for the whole lease",
            "provider": "limephone",
            "credentials": base["credentials"],
            "now": base["now"],
            "steps": [dict(deliver(request, "raise", HANDLER_FAILED), store="settle_fails"),
                      deliver(request, "ok", ACCEPTED), deliver(request, "ok", DUPLICATE)],
            "expect_handler_calls": 2,
        },
        "common_handler_status_beyond_64_bits": {
            "description": "A handler status no 64-bit integer holds (2**70) is outside 100..599 like any other: "
                           "500 handler_failed, claim released, the redelivery is handled (never an exception "
                           "out of the adapter with the claim held)",
            "provider": "limephone",
            "credentials": base["credentials"],
            "now": base["now"],
            "steps": [deliver(request, {"status": 2**70}, HANDLER_FAILED), deliver(request, "ok", ACCEPTED),
                      deliver(request, "ok", DUPLICATE)],
            "expect_handler_calls": 2,
        },
        "common_undetectable": {
            "description": "No provider named and none detected: nothing was verified, and a delivery of a shape "
                           "detection does not know would be dropped by Lisoloo on a 4xx, so 500 (the receiver "
                           "cannot read it: name the provider), handler not called",
            "provider": None,
            "credentials": undetectable["credentials"],
            "now": undetectable["now"],
            "steps": [deliver(request_of(undetectable), "ok", answer(500, "provider_not_detected"))],
            "expect_handler_calls": 0,
        },
    }


def main() -> None:
    vectors: dict[str, dict] = {}
    for provider in BASE:
        vectors.update(scenarios(provider))
    vectors.update(common())
    out = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.json"):
        old.unlink()
    for name, vector in sorted(vectors.items()):
        (out / f"{name}.json").write_text(json.dumps(vector, indent=2, sort_keys=True) + "\n")
    print(f"wrote {len(vectors)} handler vectors to {out}")


if __name__ == "__main__":
    main()
