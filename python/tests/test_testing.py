"""telhook.testing: signed samples verify through the binding, and drive the Django adapter."""

from __future__ import annotations

import json
import pathlib
import re
from typing import Any, Callable, Dict, List, cast

import pytest
import redis
from django.conf import settings
from django.core.cache import caches
from django.test import Client, override_settings

import telhook
from telhook import ConfigurationError, RequestError, VerificationError
from telhook.testing import SignedRequestFactory, event_kinds, post_to_django, sample, signed_request
from djangoproject import views

NOW = 1769000000
CREDENTIALS: Dict[str, Dict[str, Any]] = {
    "limephone": {"hmac_sha256": "lime-secret", "bearer": "lime-token"},
    "lisoloo": {"basic": {"username": "hook", "password": "liso-pass"}, "hmac_sha256": "liso-secret"},
    "gatewayapi": {"hmac_sha256": "gw-secret", "jwt_hs256": "gw-jwt"},
    "looplookup": {"authorization": "Token loop-auth"},
    "did_reseller": {"url_token": "did-token"},
    "twilio": {"auth_token": "twilio-token"},
    "telnyx": {"ed25519_public_key": "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="},  # RFC 8032's test key
    "vonage": {"jwt_hs256": "vonage-secret"},
}


@pytest.mark.parametrize("provider", sorted(CREDENTIALS))
def test_every_sample_of_every_provider_signs_and_normalizes(provider: Any) -> None:
    kinds: List[str] = event_kinds(provider)
    assert len(kinds) >= 1
    receiver = telhook.Receiver(provider, CREDENTIALS[provider])
    ids = set()
    for kind in kinds:
        request = signed_request(provider, kind, credentials=CREDENTIALS[provider], now=NOW)
        event = receiver.normalize(
            headers=request.headers, body=request.body, url=request.url, method=request.method, now=NOW
        )
        assert event["provider"] == provider
        if kind != "sms_enablement.error":
            assert event["provider_event_type"] == kind
        ids.add(event["id"])
    assert len(ids) == len(kinds)


def test_scheme_overrides_and_own_body() -> None:
    only_bearer = signed_request("limephone", "sms_sent", credentials={"bearer": "t"}, scheme="bearer")
    assert only_bearer.header("Authorization") == "Bearer t"
    assert only_bearer.header("X-LimePhone-Signature") is None
    body = sample("lisoloo", "sms.failed", {"message_id": "m-77", "data": {"error_message": None}})
    request = signed_request("lisoloo", body=body, credentials={"basic": {"username": "u", "password": "p"}})
    assert request.body == body
    event = telhook.normalize_event(
        "lisoloo", headers=request.headers, body=request.body, credentials={"basic": {"username": "u", "password": "p"}},
        now=NOW,
    )
    assert event["message"] is not None
    assert event["message"]["id"] == "m-77"
    assert event["message"]["error"] == {"code": "34", "description": None}


def test_vonage_sms_api_signed_as_a_get_and_as_a_form_is_the_same_event() -> None:
    """Vonage's SMS API arrives by GET, form POST or JSON POST (a review: the kit signed JSON
    only, and a user built the GET and the form by hand): each verifies, and all three are one
    event."""
    credentials = {"signature_secret": "s3cr3t-signature-secret-0123456789"}
    body = sample("vonage", "inbound_sms", {"messageId": "0A0000000123ABCD1"})
    events = []
    for transport in ("query", "form", "body", None):
        request = signed_request("vonage", body=body, credentials=credentials, now=NOW, transport=transport,
                                 url="https://hooks.example.com/vonage")
        assert request.method == ("GET" if transport == "query" else "POST"), transport
        events.append(telhook.normalize_event("vonage", method=request.method, url=request.url, headers=request.headers,
                                              body=request.body, credentials=credentials, now=NOW))
    assert {event["id"] for event in events} == {"vonage:sms:0A0000000123ABCD1"}
    assert {event["type"] for event in events} == {"message.received"}
    with pytest.raises(telhook.RequestError, match="transport: expected body, form or query"):
        signed_request("vonage", body=body, credentials=credentials, transport="carrier-pigeon")  # type: ignore[arg-type]
    with pytest.raises(telhook.RequestError, match="transport: form and query take a flat JSON object"):
        signed_request("vonage", body=b'{"nested": {"a": 1}}', credentials=credentials, transport="query")


def test_twilio_signed_for_the_receivers_url_verifies_there_and_behind_its_public_url() -> None:
    credentials = {"auth_token": "twilio-auth-token-for-tests", "shared_key": "twilio-shared-key-for-tests"}
    local, public = "http://localhost/hooks/twilio", "https://hooks.example.com/hooks/twilio"
    for scheme in ("auth_token", "shared_key"):
        signed = signed_request("twilio", credentials=credentials, scheme=scheme, url=local, now=1769000000)
        assert signed.url == local
        event = telhook.normalize_event("twilio", method=signed.method, url=signed.url_for(local),
                                        headers=signed.headers, body=signed.body, credentials=credentials,
                                        now=1769000000)
        assert event["provider"] == "twilio"
        receiver = telhook.Receiver("twilio", credentials, public_url=public, clock=lambda: 1769000000)
        proxied = signed_request("twilio", credentials=credentials, scheme=scheme, url=public, now=1769000000)
        assert receiver.normalize(method=proxied.method, url=proxied.url_for(local), headers=proxied.headers,
                                  body=proxied.body)["provider"] == "twilio"
        elsewhere = signed_request("twilio", credentials=credentials, scheme=scheme, now=1769000000)
        with pytest.raises(VerificationError) as refused:
            receiver.normalize(method=elsewhere.method, url=elsewhere.url_for(local), headers=elsewhere.headers,
                               body=elsewhere.body)
        assert refused.value.code == "signature_mismatch"
    with pytest.raises(TypeError):
        signed_request("twilio", credentials=credentials, url=b"http://localhost/")  # type: ignore[arg-type]


def test_errors_have_the_cores_codes_and_repr_hides_credentials() -> None:
    with pytest.raises(ConfigurationError) as missing:
        signed_request("limephone", credentials={})
    assert missing.value.code == "missing_credentials"
    with pytest.raises(RequestError) as unknown:
        sample("lisoloo", "sms.teleported")
    assert unknown.value.code == "invalid_request"
    request = signed_request("looplookup", credentials={"authorization": "Token very-secret-value"})
    assert "very-secret-value" not in repr(request)
    assert request.url_for("http://127.0.0.1:8000/hook") == "http://127.0.0.1:8000/hook"
    did = signed_request("did_reseller", credentials={"url_token": "tok"})
    assert did.url_for("/hooks/did?src=x") == "/hooks/did?src=x&token=tok"
    # A base that already holds the signed query (the console's URL given whole) gets it once.
    assert did.url_for("/hooks/did?token=tok") == "/hooks/did?token=tok"
    twilio = signed_request("twilio", credentials={"auth_token": "twilio-auth-token-1"},
                            url="https://hooks.example.com/twilio?tenant=a")
    assert twilio.url_for("http://127.0.0.1:3000/twilio?tenant=a") == "http://127.0.0.1:3000/twilio?tenant=a"
    assert twilio.url_for("http://127.0.0.1:3000/twilio") == "http://127.0.0.1:3000/twilio?tenant=a"


def test_the_repr_of_a_capture_and_a_signed_request_shows_no_credential() -> None:
    secret = "liso-PASS-current-4411"
    signed = signed_request("lisoloo", credentials={"basic": {"username": "hook", "password": secret}})
    authorization = signed.header("Authorization") or ""
    capture = (f"POST /hooks/lisoloo?token=TOKENVALUE123456&page=2 HTTP/1.1\r\nHost: x\r\n"
               f"Authorization: {authorization}\r\nContent-Length: {len(signed.body)}\r\n\r\n").encode() + signed.body
    captured = telhook.from_http_capture(capture)
    for shown in (repr(captured), repr(signed)):
        assert authorization.split()[1] not in shown and "TOKENVALUE123456" not in shown, shown
    assert repr(captured) == ('CapturedRequest { method: "POST", url: Some(/hooks/lisoloo?token=[REDACTED]&page=[REDACTED]), '
                              'headers: [("Host", "x"), ("Authorization", "[REDACTED]"), ("Content-Length", "%d")], '
                              'body: <%d bytes> }' % (len(signed.body), len(signed.body)))
    assert repr(signed).startswith('SignedRequest { method: "POST"')
    by_hand = telhook.CapturedRequest("POST", "/x", [("Authorization", "Bearer " + secret)], b"{}")
    assert secret not in repr(by_hand) and "Authorization" in repr(by_hand)


def test_django_adapter_with_the_fixture(signed_webhook: SignedRequestFactory) -> None:
    # Other tests share the views' state and the dedupe cache.
    views.PROCESSED.clear()
    views.FAIL_NEXT["value"] = False
    views.OWN_RESPONSE["value"] = False
    caches["default"].clear()
    client = Client()
    for kind in event_kinds("limephone"):
        request = signed_webhook("limephone", kind, credentials=settings.TELHOOK["limephone"])
        assert post_to_django(client, "/hooks/limephone", request).status_code == 200
    assert len(views.PROCESSED) == len(event_kinds("limephone"))
    lisoloo = signed_webhook("lisoloo", "sms.delivered", credentials=settings.TELHOOK["lisoloo"])
    assert post_to_django(client, "/hooks/lisoloo", lisoloo).status_code == 200
    assert post_to_django(client, "/hooks/lisoloo", lisoloo).status_code == 200  # redelivery
    assert len(views.PROCESSED) == len(event_kinds("limephone")) + 1
    assert views.PROCESSED[-1].startswith("lisoloo:")
    forged = signed_webhook("lisoloo", "sms.sent", credentials={"basic": {"username": "lisoloo-hook", "password": "guess"}})
    answer = post_to_django(client, "/hooks/lisoloo", forged)
    assert answer.status_code == 401
    assert answer.json() == {"error": "authorization_mismatch"}


def test_forged_signature_is_refused_by_the_binding() -> None:
    request = signed_request("gatewayapi", "delivery_report", credentials={"jwt_hs256": "other"})
    with pytest.raises(VerificationError) as refused:
        telhook.verify("gatewayapi", headers=request.headers, body=request.body, credentials=CREDENTIALS["gatewayapi"])
    assert refused.value.code == "signature_mismatch"


def test_the_readme_example_runs() -> None:
    readme = (pathlib.Path(__file__).resolve().parents[2] / "README.md").read_text("utf-8")
    section = readme.split("\n## Testing your receiver\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    assert len(blocks) == 1
    views.PROCESSED.clear()
    caches["default"].clear()
    namespace: Dict[str, Any] = {"settings": settings, "Client": Client}
    exec(blocks[0], namespace)
    assert namespace["response"].status_code == 200
    assert len(views.PROCESSED) == 1 and views.PROCESSED[0].startswith("lisoloo:")
    exec(blocks[0], namespace)  # again, the cache not cleared: a new event, the handler runs
    assert len(views.PROCESSED) == 2


@pytest.mark.parametrize("provider", sorted(CREDENTIALS))
def test_every_sample_is_a_new_event_unless_its_id_is_pinned(provider: Any) -> None:
    receiver = telhook.Receiver(provider, CREDENTIALS[provider])

    def event_id(kind: str, overrides: Any = None) -> str:
        request = signed_request(provider, kind, credentials=CREDENTIALS[provider], overrides=overrides, now=NOW)
        event = receiver.normalize(headers=request.headers, body=request.body, url=request.url, method=request.method,
                                   now=NOW)
        return str(event["id"])

    for kind in event_kinds(provider):
        assert event_id(kind) != event_id(kind), kind
    pins = {"limephone": {"call_id": "c-1"}, "lisoloo": {"event_id": "e-1"}, "gatewayapi": {"event_id": "e-1"},
            "looplookup": {"webhook_id": "w-1"}, "did_reseller": {"data": {"id": 7}},
            "twilio": {"MessageSid": "SM-1", "SmsSid": "SM-1"}, "telnyx": {"data": {"id": "e-1"}},
            "vonage": {"message_uuid": "aaaaaaaa-0000-4000-8000-000000000001"}}
    kind = event_kinds(provider)[0]
    assert event_id(kind, pins[provider]) == event_id(kind, pins[provider])


def test_pinning_the_message_keeps_the_event_id_fresh_and_the_message() -> None:
    first, second = (json.loads(sample("lisoloo", "sms.delivered", {"message_id": "m-1"})) for _ in range(2))
    assert first["message_id"] == second["message_id"] == "m-1"
    assert first["event_id"] != second["event_id"]
    # A nested override merges with the fresh record id, a null still removes.
    did = json.loads(json.loads(sample("did_reseller", "dids.update", {"data": {"number": "3035550000"}}))["data"])
    assert did["number"] == "3035550000" and did["id"] != 48213
    assert "event_id" not in json.loads(sample("lisoloo", "sms.sent", {"event_id": None}))


def python_readme_test() -> Callable[[SignedRequestFactory], None]:
    readme = (pathlib.Path(__file__).resolve().parents[2] / "python" / "README.md").read_text("utf-8")
    [block] = [b for b in re.findall(r"```python\n(.*?)```", readme, flags=re.S) if "def test_a_failed_sms_is_recorded" in b]
    namespace: Dict[str, Any] = {}
    exec(block, namespace)
    return cast(Callable[[SignedRequestFactory], None], namespace["test_a_failed_sms_is_recorded"])


def test_the_readme_pytest_example_calls_the_handler_on_every_run_against_a_store_that_outlives_it(
    redis_url: str,
) -> None:
    """python/README.md's test, run as two test runs would run it: the dedupe store is Redis
    (the Django cache), never flushed in between. Both runs reach the handler."""
    readme_test = python_readme_test()
    views.PROCESSED.clear()
    views.FAIL_NEXT["value"] = False
    views.OWN_RESPONSE["value"] = False
    redis_cache = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": redis_url}}
    with override_settings(CACHES=redis_cache):
        readme_test(signed_request)
        assert len(redis.Redis.from_url(redis_url).keys("*")) >= 1  # the first run's claim is kept
        readme_test(signed_request)
    assert len(views.PROCESSED) == 2 and len(set(views.PROCESSED)) == 2, views.PROCESSED
    # And with the in-memory cache shared by the whole session (not cleared in between).
    readme_test(signed_request)
    readme_test(signed_request)
    assert len(set(views.PROCESSED)) == 4
