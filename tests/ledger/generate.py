#!/usr/bin/env python3
"""Generates the status-ledger vectors: status events applied in several orders -> one state.

Each vector: {"description", "events": [normalized events], "runs": [{"order": [indices],
"verdicts": [...]}], "expect": {"state": {...}} | {"error": code}}. Every runtime applies the
events of each run, in the run's order, to an empty ledger and compares every verdict and the
final state exactly. The expected values come from the reference model below, written from the
rule's description (core/src/ledger.rs), not from the core's output.
"""
import copy
import json
import random
import sys
from pathlib import Path

# Run: python3 tests/ledger/generate.py [OUT_DIR]  (default: this directory)
OUT = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent
RANK = {"unknown": 0, "accepted": 10, "queued": 20, "sent": 30, "failed": 40, "expired": 41,
        "rejected": 42, "canceled": 43, "delivered": 50, "read": 60}
FINAL_FROM = RANK["failed"]
RECEIVED_AT = "2026-05-27T11:00:00Z"
LISOLOO_WORD = {"accepted": "pending", "queued": "processing"}
GATEWAY_WORD = {"accepted": "ACCEPTED", "queued": "BUFFERED", "sent": "ENROUTE", "failed": "UNDELIVERABLE",
                "unknown": "UNKNOWN", "canceled": "DELETED"}


def lisoloo(status, n, at, segments=None, error=None, message_id="507f1f77bcf86cd799439011",
            to="+4512345678"):
    """A Lisoloo status event as the core normalizes it."""
    word = LISOLOO_WORD.get(status, status)
    event_id = f"0b6f0f0e-8a57-4c55-9a43-55c3b0e1b{n:03d}"
    data = {"recipient_phone": to}
    if segments is not None:
        data["segments"] = segments
    if error:
        data.update({"error_code": int(error[0]), "error_message": error[1]})
    return {
        "schema_version": 1, "provider": "lisoloo", "id": f"lisoloo:{event_id}", "type": "message.status",
        "provider_event_type": f"sms.{word}", "occurred_at": at, "received_at": RECEIVED_AT, "from": None,
        "to": to,
        "status": {"value": status, "final": RANK[status] >= FINAL_FROM, "rank": RANK[status],
                   "provider_status": word},
        "message": {"id": message_id, "direction": "outbound", "text": None, "reference": None,
                    "error": {"code": error[0], "description": error[1]} if error else None},
        "call": None, "lookup": None, "record": None,
        "raw": {"event_id": event_id, "event_type": f"sms.{word}", "timestamp": at,
                "message_id": message_id, "data": data},
    }


def gateway(status, n, at, error=None, to="+4512345678"):
    """A GatewayAPI Messaging API status event as the core normalizes it."""
    word = GATEWAY_WORD.get(status, status.upper())
    event_id = f"9c3e1a52-4b8d-4e0a-a1f3-0c9b7d6e5{n:03d}"
    msg_id = "01HQ8ZK7D3W3M1Y6T5P0E2B9AX"
    return {
        "schema_version": 1, "provider": "gatewayapi", "id": f"gatewayapi:{event_id}", "type": "message.status",
        "provider_event_type": "message.status.sms", "occurred_at": at, "received_at": RECEIVED_AT,
        "from": None, "to": to,
        "status": {"value": status, "final": RANK[status] >= FINAL_FROM, "rank": RANK[status],
                   "provider_status": word},
        "message": {"id": msg_id, "direction": "outbound", "text": None, "reference": "order-1042",
                    "error": {"code": error[0], "description": error[1]} if error else None},
        "call": None, "lookup": None, "record": None,
        "raw": {"event_id": event_id, "event_type": "message.status.sms", "timestamp": at,
                "event": {"msg_id": msg_id, "recipient": int(to[1:]) if to else None, "reference": "order-1042",
                          "status": word, "status_at": at,
                          "error": {"hex_code": error[0], "details": error[1]} if error else None}},
    }


def twilio(status, n, at):
    """A Twilio Messaging status callback of a message sent in 2 segments, as the core normalizes it
    (Twilio sends no time: occurred_at null, the received time orders it)."""
    sid = "SM2f3e1a0c9b8d7e6f5a4b3c2d1e0f9a8b"
    return {
        "schema_version": 1, "provider": "twilio", "id": f"twilio:{sid}:{status}", "type": "message.status",
        "provider_event_type": "message_status", "occurred_at": None, "received_at": at,
        "from": "+15017122661", "to": "+15558675310",
        "status": {"value": status, "final": RANK[status] >= FINAL_FROM, "rank": RANK[status],
                   "provider_status": status},
        "message": {"id": sid, "direction": "outbound", "text": None, "reference": None, "error": None},
        "call": None, "lookup": None, "record": None,
        "raw": {"MessageSid": sid, "SmsSid": sid, "AccountSid": "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
                "From": "+15017122661", "To": "+15558675310", "MessageStatus": status, "SmsStatus": status,
                "NumSegments": "2", "ApiVersion": "2010-04-01"},
    }


TELNYX_WORD = {"queued": "queued", "sent": "sent", "delivered": "delivered", "failed": "delivery_failed"}


def telnyx(status, n, at, error=None):
    """A Telnyx message.sent / message.finalized event as the core normalizes it (the status of its
    one recipient, payload.to[0].status)."""
    word = TELNYX_WORD[status]
    event_id = f"c1d4a8f2-0d0e-4f55-9a2b-1b2f3c4d5{n:03d}"
    message_id = "40385f64-5717-4562-b3fc-2c963f66afa6"
    kind = "message.finalized" if RANK[status] >= FINAL_FROM else "message.sent"
    errors = [{"code": error[0], "title": "Undeliverable", "detail": error[1]}] if error else []
    return {
        "schema_version": 1, "provider": "telnyx", "id": f"telnyx:{event_id}", "type": "message.status",
        "provider_event_type": kind, "occurred_at": at, "received_at": RECEIVED_AT, "from": "+18445550001",
        "to": "+18665550001",
        "status": {"value": status, "final": RANK[status] >= FINAL_FROM, "rank": RANK[status],
                   "provider_status": word},
        "message": {"id": message_id, "direction": "outbound", "text": "Your code is 123456", "reference": None,
                    "error": {"code": error[0], "description": error[1]} if error else None},
        "call": None, "lookup": None, "record": None,
        "raw": {"data": {"event_type": kind, "id": event_id, "occurred_at": at, "record_type": "event",
                         "payload": {"id": message_id, "direction": "outbound", "text": "Your code is 123456",
                                     "from": {"phone_number": "+18445550001"},
                                     "to": [{"phone_number": "+18665550001", "status": word}],
                                     "errors": errors}},
                "meta": {"attempt": 1, "delivered_to": "https://example.com/hooks/telnyx"}},
    }


# ------------------------------------------------------------------ the reference model
def parts_of(event):
    """Every provider reports a message's status as the message's: one part. Twilio's status
    callbacks are one a status change of the message (NumSegments counts what it was sent in),
    Lisoloo's events one a recipient and status (data.segments is a count, beside its price), and
    each part of a Vonage SMS API message has its own messageId, so its own row (a review: a
    delivered long message stayed sent, waiting for parts that never come)."""
    return 1


def apply(state, event):
    status = event["status"]["value"]
    at = event["occurred_at"] or event["received_at"]
    if state is None:
        state = {"provider": event["provider"], "message_id": event["message"]["id"], "recipient": event["to"],
                 "status": "unknown", "rank": 0, "final": False, "error": None, "seen": {}, "parts": 1,
                 "delivered_parts": {}}
        fresh = True
    else:
        state = copy.deepcopy(state)
        fresh = False
    state["seen"][status] = min(state["seen"].get(status, at), at)
    parts = parts_of(event)
    state["parts"] = max(state["parts"], parts)
    effective = status
    error = event["message"]["error"] if RANK[status] >= FINAL_FROM else None
    if parts > 1 and RANK[status] >= RANK["delivered"]:
        if len(state["delivered_parts"]) < state["parts"]:
            state["delivered_parts"][event["id"]] = at
        if len(state["delivered_parts"]) < state["parts"]:
            effective, error = "sent", None
    if fresh or RANK[effective] > state["rank"]:
        state.update(status=effective, rank=RANK[effective], final=RANK[effective] >= FINAL_FROM, error=error)
        verdict = "applied"
    else:
        verdict = "after_final" if state["final"] else "stale"
    state["seen"] = dict(sorted(state["seen"].items()))
    state["delivered_parts"] = dict(sorted(state["delivered_parts"].items()))
    return verdict, state


def vector(name, description, events, shuffles=4):
    rng = random.Random(name)
    n = len(events)
    orders = [list(range(n)), list(reversed(range(n)))]
    for _ in range(shuffles):
        order = list(range(n))
        rng.shuffle(order)
        orders.append(order)
    runs, final = [], None
    for order in orders:
        state, verdicts = None, []
        for i in order:
            verdict, state = apply(state, events[i])
            verdicts.append(verdict)
        if final is not None and state != final:
            raise SystemExit(f"{name}: the final state depends on the order")
        final = state
        runs.append({"order": order, "verdicts": verdicts})
    write(name, {"description": description, "events": events, "runs": runs, "expect": {"state": final}})


def refused(name, description, event, code):
    write(name, {"description": description, "events": [event], "runs": [{"order": [0]}],
                 "expect": {"error": code}})


def write(name, data):
    (OUT / f"{name}.json").write_text(json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n")


def t(second):
    return f"2026-05-27T10:{second // 60:02d}:{second % 60:02d}Z"


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    for old in OUT.glob("*.json"):
        old.unlink()
    absent = ("34", "Absent subscriber")
    vector("lisoloo_lifecycle", "pending, processing, sent, delivered in any order end delivered",
           [lisoloo("accepted", 1, t(0)), lisoloo("queued", 2, t(1)), lisoloo("sent", 3, t(3)),
            lisoloo("delivered", 4, t(8))])
    vector("lisoloo_late_sent_after_delivered", "A sent report arriving after delivered is kept as a time only",
           [lisoloo("delivered", 1, t(8)), lisoloo("sent", 2, t(3))])
    vector("lisoloo_failed_keeps_error", "A failure keeps its error detail; late transient reports do not clear it",
           [lisoloo("sent", 1, t(3)), lisoloo("failed", 2, t(9), error=absent), lisoloo("queued", 3, t(1))])
    vector("lisoloo_expired_after_sent", "Expired is final and outranks sent",
           [lisoloo("accepted", 1, t(0)), lisoloo("sent", 2, t(3)), lisoloo("expired", 3, t(600))])
    vector("lisoloo_delivered_after_failed", "A delivery proves a reported failure wrong; its error is dropped",
           [lisoloo("failed", 1, t(9), error=absent), lisoloo("delivered", 2, t(20)), lisoloo("sent", 3, t(3))])
    vector("lisoloo_redelivered_events", "The provider's redeliveries of the same events change nothing",
           [lisoloo("sent", 1, t(3)), lisoloo("sent", 1, t(3)), lisoloo("delivered", 2, t(8)),
            lisoloo("delivered", 2, t(8))])
    vector("lisoloo_same_status_twice_earliest_time", "Two reports of one status keep the earliest time",
           [lisoloo("sent", 1, t(5)), lisoloo("sent", 2, t(3)), lisoloo("queued", 3, t(1))])
    vector("lisoloo_failed_then_expired", "Among finals the higher rank (expired over failed) wins",
           [lisoloo("failed", 1, t(9), error=absent), lisoloo("expired", 2, t(600))])
    vector("lisoloo_rejected_only", "A single rejection is final at once",
           [lisoloo("rejected", 1, t(0), error=("2", "Invalid destination"))], shuffles=0)
    vector("lisoloo_canceled_after_queued", "Canceled is final over queued and accepted",
           [lisoloo("accepted", 1, t(0)), lisoloo("queued", 2, t(1)), lisoloo("canceled", 3, t(2))])
    vector("lisoloo_segments_are_a_count", "A message sent in 2 segments (data.segments, a count beside its "
           "price) is delivered by its one delivered event, as Lisoloo sends one event a recipient and status",
           [lisoloo("sent", 1, t(3), segments=2), lisoloo("delivered", 2, t(8), segments=2)])
    vector("twilio_segments_are_a_count", "Twilio's status callbacks of a message sent in 2 segments "
           "(NumSegments=2): one callback a status change of the message, so its delivered is the message's",
           [twilio("queued", 1, t(0)), twilio("sent", 2, t(3)), twilio("delivered", 3, t(8))])
    no_time = lisoloo("sent", 2, None)
    vector("lisoloo_no_timestamp_uses_received_at", "Without occurred_at the status is timed by received_at",
           [lisoloo("accepted", 1, t(0)), no_time])
    vector("gatewayapi_unknown_then_accepted", "An unknown status is the lowest rank",
           [gateway("unknown", 1, t(0)), gateway("accepted", 2, t(1))])
    vector("gatewayapi_read_after_delivered", "RCS read outranks delivered",
           [gateway("delivered", 1, t(8)), gateway("read", 2, t(30)), gateway("sent", 3, t(3))])
    vector("gatewayapi_undeliverable_with_error", "Undeliverable keeps hex code and details",
           [gateway("accepted", 1, t(0)), gateway("sent", 2, t(2)), gateway("failed", 3, t(60), error=("0x0B", "Absent subscriber"))])
    vector("gatewayapi_no_recipient", "A message without a recipient is keyed by its id alone",
           [gateway("sent", 1, t(3), to=None), gateway("delivered", 2, t(8), to=None)])
    vector("gatewayapi_rejected_outranks_expired", "Rejected (42) over expired (41): the higher final wins",
           [gateway("expired", 1, t(600)), gateway("rejected", 2, t(1), error=("0x01", "Barred"))])
    vector("telnyx_finalized_before_sent", "Telnyx's message.finalized (delivered) before its message.sent: "
           "delivered, in any order", [telnyx("queued", 1, t(0)), telnyx("sent", 2, t(1)),
                                       telnyx("delivered", 3, t(6))])
    vector("telnyx_delivery_failed_keeps_error", "A finalized delivery_failed keeps Telnyx's error; a late "
           "message.sent does not clear it", [telnyx("failed", 1, t(6), error=("40008", "Undeliverable")),
                                              telnyx("sent", 2, t(1))])
    rng = random.Random("fifty")
    fifty = []
    for n in range(50):
        status = rng.choice([s for s in RANK if s != "read"])
        # One error detail per failure kind, so reports of equal rank never disagree on it.
        error = (f"0x{RANK[status]:02X}", f"{status} detail") if FINAL_FROM <= RANK[status] < RANK["delivered"] else None
        fifty.append(gateway(status, 100 + n, t(n), error=error))
    vector("gatewayapi_many_reports_one_message", "Every status report of one message, shuffled", fifty)
    no_status = lisoloo("sent", 1, t(3))
    no_status.update(type="other", status=None, provider_event_type="sms.clicked")
    refused("refused_event_without_status", "An event without a delivery status is not a ledger input",
            no_status, "invalid_request")
    no_message = lisoloo("sent", 1, t(3))
    no_message["message"] = None
    refused("refused_event_without_message_id", "A status event without a message id has no ledger key",
            no_message, "invalid_request")


if __name__ == "__main__":
    main()
