"""Checked by `mypy --strict`: the public types support real use."""

from __future__ import annotations

from datetime import timedelta

import telhook
from telhook.types import NormalizedEvent


def describe(event: NormalizedEvent) -> str:
    if event["type"] == "message.status" and event["status"] is not None:
        return f"{event['to']} is {event['status']['value']}"
    if event["lookup"] is not None:
        return str(event["lookup"]["contact"])
    return event["provider_event_type"]


def handle(body: bytes, headers: dict[str, str]) -> int:
    try:
        event = telhook.normalize_event(
            "gatewayapi", headers=headers, body=body, credentials={"hmac_sha256": ["current", "previous"]}
        )
    except telhook.WebhookError as error:
        return telhook.ack_for_error(error)
    ttl: timedelta = telhook.retry_policy(event["provider"]).dedupe_ttl
    print(describe(event), ttl)
    return telhook.ack(event["provider"], "accepted").status


wins: bool = telhook.status_wins("sent", "delivered")


def receive_once(body: bytes, headers: dict[str, str]) -> telhook.Response:
    receiver = telhook.Receiver("lisoloo", {"basic": [{"username": "u", "password": "p"}]}, clock=lambda: 1769000000.0)

    def handler(event: NormalizedEvent) -> int | None:
        return 409 if event["type"] == "other" else None

    response = telhook.receive(receiver, method="POST", url=None, headers=headers, body=[body], handler=handler,
                               store=telhook.MemoryStore())
    status: int = response.status
    print(status, response.header("content-type"))
    return response
