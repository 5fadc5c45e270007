"""Issue 12 item 5: a canary planted in every value of every malformed request
(tests/canary/, generated) never reaches an error's message, str or repr."""

from __future__ import annotations

import json
import pathlib

import telhook
from vector_reader import ROOT, request_of

CANARY_DIR = ROOT / "tests" / "canary"


def test_no_error_quotes_a_value_of_the_request() -> None:
    errors, events = 0, 0
    for path in sorted(CANARY_DIR.glob("*.json")):
        vector = json.loads(path.read_text("utf-8"))
        request = request_of(vector["request"])
        try:
            event = telhook.normalize_event(
                vector["provider"],
                headers=request.headers,
                body=request.body,
                credentials=vector["credentials"],
                now=vector["now"],
                method=request.method,
                url=request.url,
            )
        except telhook.WebhookError as error:
            errors += 1
            texts = [str(error), repr(error), repr(error.args), str(error.field), str(error.expected)]
            for text in texts:
                assert vector["canary"] not in text, (path.name, text)
                assert vector["canary_number"] not in text, (path.name, text)
        else:
            # A verified body of any shape is an event (issue 26): its unread paths are the
            # provider's own field names, never a planted key or value of the request.
            events += 1
            assert vector["canary"] not in " ".join(event["unread_fields"]), path.name
    # Both kinds must be seen, or the test proves nothing about one of them.
    assert errors >= 30 and events >= 150, (errors, events)


def test_the_canary_set_is_there() -> None:
    assert len(list(pathlib.Path(CANARY_DIR).glob("*.json"))) >= 200


def test_the_public_objects_repr_shows_no_credential() -> None:
    secret = "repr-SECRET-value-8812"
    receiver = telhook.Receiver(
        provider="did_reseller",
        credentials={"url_token": [secret], "basic": [{"username": "hook", "password": secret}]},
    )
    text = repr(receiver) + str(receiver)
    assert secret not in text, text
    assert "did_reseller" in text
