"""Options and clocks are checked once, when the receiver is built, by the core
(``invalid_option``, a ConfigurationError): one test per option, each naming the option and
what it takes, never the value given. The same cases in Node: npm/test/options.test.mjs."""

from __future__ import annotations

import math
import time
from datetime import datetime, timezone
from typing import Any, Callable, Iterable

import pytest

import telhook
from telhook.stores import MemoryStore

CREDENTIALS = {"basic": {"username": "hook", "password": "s3cret"}}


def refused(option: str, build: Callable[[], Any], shown: Iterable[str] = ()) -> None:
    with pytest.raises(telhook.ConfigurationError) as caught:
        build()
    error = caught.value
    assert (error.code, error.kind, error.field) == ("invalid_option", "configuration", option)
    assert error.expected and option in str(error) and error.expected in str(error)
    for value in shown:
        assert value not in str(error), f"{error} shows {value}"


def receiver(**options: Any) -> telhook.Receiver:
    return telhook.Receiver("lisoloo", CREDENTIALS, **options)


@pytest.mark.parametrize("value", [-1, 0, "1mb", 1.5, math.nan, True, datetime.now(timezone.utc)])
def test_max_body_bytes(value: Any) -> None:
    shown = [value] if isinstance(value, str) else [str(value)] if isinstance(value, float) else []
    refused("max_body_bytes", lambda: receiver(max_body_bytes=value), shown)
    refused("max_body_bytes", lambda: telhook.normalize_event("lisoloo", headers={}, body=b"{}", credentials=CREDENTIALS,
                                                              max_body_bytes=value), shown)


def test_an_options_typo_is_pythons_own_type_error_naming_it() -> None:
    # Options are keyword arguments: a misspelt one never reaches telhook (and mypy flags it).
    with pytest.raises(TypeError, match="max_body"):
        receiver(max_body=10)


@pytest.mark.parametrize("reading", [None, "five o'clock", datetime.now(timezone.utc), math.nan, True])
def test_clock(reading: Any) -> None:
    refused("clock", lambda: receiver(clock=lambda: reading), ["five o'clock"])


def test_clock_in_milliseconds_is_invalid_clock() -> None:
    with pytest.raises(telhook.ConfigurationError) as caught:
        receiver(clock=lambda: time.time() * 1000)
    assert caught.value.code == "invalid_clock"
    receiver(clock=time.time)  # seconds with a fraction are seconds


@pytest.mark.parametrize("option,values", [
    ("lease_secs", [0, -1, 1.5, "300", math.nan]),
    ("dedupe_ttl_secs", [0, -1, 1.5, "1h", math.nan]),
    ("store_deadline_ms", [0, 60_001, 2.5, "1s", math.nan]),
])
def test_store_timing(option: str, values: Iterable[Any]) -> None:
    for value in values:
        shown = [value] if isinstance(value, str) else [str(value)] if abs(value) > 1 else []
        refused(option, lambda: receiver(**{option: value}), shown)


def test_the_framework_decorators_check_the_same_way() -> None:
    from telhook.flask import webhook as flask_webhook
    from telhook.starlette import webhook as starlette_webhook

    for webhook in (flask_webhook, starlette_webhook):
        refused("max_body_bytes", lambda: webhook("lisoloo", credentials=CREDENTIALS, store=MemoryStore(), max_body_bytes=-1))
        refused("clock", lambda: webhook("lisoloo", credentials=CREDENTIALS, store=MemoryStore(), clock=lambda: None))
        refused("lease_secs", lambda: webhook("lisoloo", credentials=CREDENTIALS, store=MemoryStore(), lease_secs="5"))
