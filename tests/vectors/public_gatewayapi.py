"""GatewayAPI conformance vectors built from PUBLIC material nobody on this project wrote.

Every case copies the facts of a public source (field names, value types and example values) and
its description cites that source as "<owner>/<repo> <path>@<short commit>: <what it shows>",
then says what telhook must produce. Where a source holds a captured or published token, the token
is used verbatim and the body is exactly its claims. PUBLIC_SOURCES lists every source used.

Called from tests/vectors/generate.py's gatewayapi(): `build(vec, h, hj, creds, dumps, jwt,
GW_HMAC, GW_JWT)`. Success expectations are blessed like every other vector; error
expectations are written here by hand.
"""
import base64
import json

DOCS = "onlinecity/gatewayapi-docs"
DOCS_AT = "da52fb9"
PHP = "nickdnk/gatewayapi-php"
PHP_MSG_AT = "934d6fe"  # Messaging API version: stored in the code index, not on the repo's master
PHP_HEAD_AT = "7a25279"  # master (legacy JWT webhooks)
DOTNET = "andersmandersen/gatewayapi-dotnet"
DOTNET_AT = "858c1a5"
WP = "onlinecity/wp-gatewayapi"
WP_AT = "953cbd2"  # v1.8.0, the last 1.x release; the 2.x rewrite (3de52ad) dropped inbound SMS

PUBLIC_SOURCES = [
    {"repo": DOCS, "path": "docs/rest.rst", "commit": "da52fb94020c00bae599094ffc738b8b1f3240f8",
     "what": "Legacy REST API webhooks: DLR fields and callback example, the status list and lifecycle "
             "(ACCEPTED drawn final), charge status (NOCHARGE, AUTHORIZED, CAPTURED, REFUNDED, REFUND_FAIL, "
             "CANCELLED, FAILED), MO SMS fields and example (receiver 451204, 'foo Hello World'), keyword "
             "leases on short code 1204, the X-Gwapi-Signature JWT with a published HS256 token (secret "
             "'secret'), GET /rest/mosms and /rest/mtsms answers (senttime 1554465205.0, mcc 238, mnc 1, "
             "encoding 'UTF8', validity_period 86400), overcharged SMS (sender 1204), /api/vas shortcode 451204"},
    {"repo": DOCS, "path": "docs/errors.rst", "commit": "da52fb94020c00bae599094ffc738b8b1f3240f8",
     "what": "Error codes are 32-bit unsigned integers, often shown as hex (0x1013 Absent subscriber, "
             "SMS errors sent in delivery status notifications)"},
    {"repo": PHP, "path": "events.json", "commit": "934d6feef0f793333f18c35d9a57692511dbd6f3",
     "what": "Messaging API samples: message.status.sms, message.status.rcs (READ), user-message.text.sms "
             "(content object, no recipient), user-message.text.rcs (content a string), "
             "user-message.location.rcs, user-message.file.rcs"},
    {"repo": PHP, "path": "openapi.json", "commit": "934d6feef0f793333f18c35d9a57692511dbd6f3",
     "what": "Messaging Webhook examples (minimal, full with error{hex_code 0x1905, details}, 'rcs' example "
             "sent as message.status.sms with READ); SMSStatus and RCSStatus schemas and status enums"},
    {"repo": PHP, "path": "src/Entities/Webhooks/IncomingMessageWebhook.php",
     "commit": "934d6feef0f793333f18c35d9a57692511dbd6f3",
     "what": "content per inbound type: text.sms object, text.rcs plain string, location.rcs "
             "{latitude, longitude}, file.rcs {category, thumbnail, payload}; sender not recipient"},
    {"repo": PHP, "path": "src/Entities/Webhooks/Webhook.php", "commit": "934d6feef0f793333f18c35d9a57692511dbd6f3",
     "what": "Messaging API verification: Signature = 'v1=' + hex HMAC-SHA256 of the raw body (hash_equals)"},
    {"repo": PHP, "path": "src/Entities/Webhooks/MessageStatus.php", "commit": "934d6feef0f793333f18c35d9a57692511dbd6f3",
     "what": "Messaging API statuses incl. RCS-only READ; isFinal() excludes ACCEPTED"},
    {"repo": PHP, "path": "src/Entities/Webhooks/Webhook.php", "commit": "7a25279c5490adf0c011c48bcb5536ddc093fd85",
     "what": "Legacy X-Gwapi-Signature JWT check accepting alg HS256, HS384 and HS512"},
    {"repo": PHP, "path": "tests/DeliveryStatusWebhookTest.php", "commit": "7a25279c5490adf0c011c48bcb5536ddc093fd85",
     "what": "DLR JWTs signed with 'secret': full DLR (charge_status AUTHORIZED, error, code), HS384, HS512, "
             "alg none refused"},
    {"repo": PHP, "path": "tests/IncomingMessageWebhookTest.php", "commit": "7a25279c5490adf0c011c48bcb5536ddc093fd85",
     "what": "MO JWT with every optional field (sender, mcc, mnc, validity_period, encoding, udh, payload)"},
    {"repo": DOTNET, "path": "tests/GatewayAPI.Tests/GatewayAPIWebhookHandlerTest.cs",
     "commit": "858c1a5bd1a21682df5fcb0f49e39a9b4adb4a1d",
     "what": "Captured DLR JWT with \"time\":1616404260.0 and MO JWT with country_code/country_prefix null "
             "(secret 'secret')"},
    {"repo": WP, "path": "inc/cpt_receive_sms.php", "commit": "953cbd27aa638a7f04cceab0f02530d891ca61f9",
     "what": "Inbound MO handler: $_GET['token'] === stored token, else HTTP 400 'Invalid token'; no JWT "
             "check; the MO field list it stores; keyword = first word of message, matched with receiver"},
    {"repo": WP, "path": "inc/helpers.php", "commit": "953cbd27aa638a7f04cceab0f02530d891ca61f9",
     "what": "Webhook URL admin-ajax.php?action=gatewayapi_receive_sms&token=<32 random chars>"},
]

SECRET = "secret"  # the secret the public tokens were signed with
URL_TOKEN = "gwapi-URL-token-5c2a"


def _b64url_decode(part):
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)).decode("utf-8")


def _claims_text(token):
    """The claims of a published token, byte for byte: the body a receiver gets with it."""
    return _b64url_decode(token.split(".")[1])


# Published tokens, verbatim.
DOCS_TOKEN = (  # docs/rest.rst "Authentication token" code examples
    "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.eyJpZCI6MjM4MTcwMywibXNpc2RuIjo0NTQyNjA5MDQ1LCJ0aW1lIjoxNTIyNzY0MDYy"
    "LCJzdGF0dXMiOiJERUxJVkVSRUQiLCJlcnJvciI6bnVsbCwiY29kZSI6bnVsbCwidXNlcnJlZiI6bnVsbCwiY2FsbGJhY2tfdXJsIjoi"
    "aHR0cDovL2JiYWY3MTQyLm5ncm9rLmlvIiwiYXBpIjo0fQ.KdfDH65bnQtgxEkFnpAQodOciAJedZFB13r9wEo8t3Y")
PHP_DLR_TOKEN = (  # tests/DeliveryStatusWebhookTest.php VALID_JWT
    "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.eyJpZCI6MjM4MTcwMywibXNpc2RuIjo0NTQyNjA5MDQ1LCJ0aW1lIjoxNTIyNzY0MDYy"
    "LCJzdGF0dXMiOiJERUxJVkVSRUQiLCJlcnJvciI6ImVycm9yIHRleHQiLCJjb2RlIjoiZXJyb3IgY29kZSIsImNvdW50cnlfcHJlZml4"
    "Ijo0NSwiY291bnRyeV9jb2RlIjoiREsiLCJjaGFyZ2Vfc3RhdHVzIjoiQVVUSE9SSVpFRCIsInVzZXJyZWYiOiJhIHJlZmVyZW5jZSJ9"
    ".LgbbsxAj61SQhDA0A3dGlcT8OZN2UJsTgBiifNHEeh8")
PHP_HS384_TOKEN = (  # tests/DeliveryStatusWebhookTest.php testHS384
    "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzM4NCJ9.eyJpZCI6MjM4MTcwMywibXNpc2RuIjo0NTQyNjA5MDQ1LCJ0aW1lIjoxNTIyNzY0MDYy"
    "LCJzdGF0dXMiOiJERUxJVkVSRUQiLCJlcnJvciI6bnVsbCwiY29kZSI6bnVsbCwidXNlcnJlZiI6bnVsbCwiY2FsbGJhY2tfdXJsIjoi"
    "aHR0cDovL2JiYWY3MTQyLm5ncm9rLmlvIiwiYXBpIjo0fQ.2itUNDqtCZyE6g320Tn8RRd0rykJEoFtVeffPzUKLmMGwrG3fCXufwbpc-43dYGA")
PHP_HS512_TOKEN = (  # tests/DeliveryStatusWebhookTest.php testHS512
    "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzUxMiJ9.eyJpZCI6MjM4MTcwMywibXNpc2RuIjo0NTQyNjA5MDQ1LCJ0aW1lIjoxNTIyNzY0MDYy"
    "LCJzdGF0dXMiOiJERUxJVkVSRUQiLCJlcnJvciI6bnVsbCwiY29kZSI6bnVsbCwidXNlcnJlZiI6bnVsbCwiY2FsbGJhY2tfdXJsIjoi"
    "aHR0cDovL2JiYWY3MTQyLm5ncm9rLmlvIiwiYXBpIjo0fQ.o3FGANwBGxEAK2tfFZtp9ZraDxUgwypBj0dq1C13IWEddpxcth8dQHngaQMq6F"
    "tbGpDO80pyMeedDSndzKMoag")
PHP_ALG_NONE_TOKEN = (  # tests/DeliveryStatusWebhookTest.php testNoAlgorithm
    "eyJ0eXBlIjoiSldUIiwiYWxnIjoibm9uZSJ9.eyJpZCI6MjM4MTcwMywibXNpc2RuIjo0NTQyNjA5MDQ1LCJ0aW1lIjoxNTIyNzY0MDYy"
    "LCJzdGF0dXMiOiJERUxJVkVSRUQiLCJlcnJvciI6bnVsbCwiY29kZSI6bnVsbCwidXNlcnJlZiI6bnVsbCwiY2FsbGJhY2tfdXJsIjoi"
    "aHR0cDovL2JiYWY3MTQyLm5ncm9rLmlvIiwiYXBpIjo0fQ.KdfDH65bnQtgxEkFnpAQodOciAJedZFB13r9wEo8t3Y")
PHP_MO_TOKEN = (  # tests/IncomingMessageWebhookTest.php VALID_JWT
    "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.eyJpZCI6MTAwMDAwMSwibXNpc2RuIjo0NTg3NjU0MzIxLCJyZWNlaXZlciI6NDUxMjA0"
    "LCJtZXNzYWdlIjoiZm9vIEhlbGxvIFdvcmxkIiwic2VudHRpbWUiOjE0NTAwMDAwMDAsIndlYmhvb2tfbGFiZWwiOiJ0ZXN0IiwiY291"
    "bnRyeV9jb2RlIjoiREsiLCJjb3VudHJ5X3ByZWZpeCI6NDUsInNlbmRlciI6InRlc3QiLCJ2YWxpZGl0eV9wZXJpb2QiOjM0MzQsImVu"
    "Y29kaW5nIjoic3RyaW5nIiwibWNjIjoxMjMsIm1uYyI6MTI1LCJwYXlsb2FkIjoiYmluIiwidWRoIjoidWRoIHN0cmluZyJ9"
    "._Kk85q5mTBwnLi17mMVu7RmUDoFHFjsSuzjrVjmaH-M")
DOTNET_DLR_TOKEN = (  # GatewayAPIWebhookHandlerTest.cs TestCanDecryptToken
    "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.eyJpZCI6MTUzMjU4MzA3OCwibXNpc2RuIjo0NTI4OTUwMzcyLCJ0aW1lIjoxNjE2NDA0"
    "MjYwLjAsInN0YXR1cyI6IkRFTElWRVJFRCIsInVzZXJyZWYiOm51bGwsImNvdW50cnlfY29kZSI6IkRLIiwiY291bnRyeV9wcmVmaXgi"
    "OjQ1fQ.JSyTji-WGqlM8gkuT7I68lddduQ7A-ydcdirIzoHmNM")
DOTNET_MO_TOKEN = (  # GatewayAPIWebhookHandlerTest.cs TestCanDecryptTokenToWebhookIncomingMessage
    "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.eyJpZCI6MTAwMDAwMSwibXNpc2RuIjo0NTg3NjU0MzIxLCJyZWNlaXZlciI6NDUxMjA0"
    "LCJtZXNzYWdlIjoidGVzdCBtZXNzYWdlIiwic2VudHRpbWUiOjE2MTg0NzM2NzksIndlYmhvb2tfbGFiZWwiOiJGaXNvbHUiLCJjb3Vu"
    "dHJ5X2NvZGUiOm51bGwsImNvdW50cnlfcHJlZml4IjpudWxsfQ.-0kZ-w6d-dBoCQr_HPVO6hrmEqQGysTiUt9g8DKsqDE")

# docs/rest.rst "Delivery Status Notification" callback example, as printed.
DOC_DLR = {"id": 1000001, "msisdn": 4587654321, "time": 1450000000, "status": "DELIVERED", "userref": "foobar",
           "charge_status": "CAPTURED", "country_code": "DK", "country_prefix": 45}
# docs/rest.rst "MO SMS" callback example, as printed.
DOC_MO = {"id": 1000001, "msisdn": 4587654321, "receiver": 451204, "message": "foo Hello World",
          "senttime": 1450000000, "webhook_label": "test", "country_code": "DK", "country_prefix": 45}

# docs/rest.rst "States and status codes": word -> (what the table says, normalized status telhook gives)
STATUS_WORDS = [
    ("UNKNOWN", "messages start here, you should not encounter this state", "unknown"),
    ("SCHEDULED", "a sendtime in the future was set", "accepted"),
    ("BUFFERED", "held in GatewayAPI's queue, awaiting the mobile network", "queued"),
    ("ENROUTE", "sent to the mobile network, on its way (transient)", "sent"),
    ("DELIVERED", "the handset confirmed delivery (final)", "delivered"),
    ("EXPIRED", "validity period exceeded, no further attempts (final)", "expired"),
    ("DELETED", "the message was canceled (final)", "canceled"),
    ("UNDELIVERABLE", "permanently undeliverable, most likely an invalid MSISDN (final)", "failed"),
    ("ACCEPTED", "the network accepted it on the user's behalf; drawn as a final box after ENROUTE",
     "carrier_accepted (final)"),
    ("REJECTED", "the network rejected it; a charged message's charge failed (final)", "rejected"),
    ("SKIPPED", "accepted but deliberately ignored by network rules (final)", "canceled"),
]


def build(vec, h, hj, creds, dumps, jwt, GW_HMAC, GW_JWT):
    """Adds the public_* GatewayAPI vectors through `vec` (see generate.py)."""
    public = {"jwt_hs256": SECRET}  # the published tokens' secret
    rest = f"{DOCS} docs/rest.rst@{DOCS_AT}"
    errors = f"{DOCS} docs/errors.rst@{DOCS_AT}"
    php_tests = f"{PHP} tests/DeliveryStatusWebhookTest.php@{PHP_HEAD_AT}"
    events = f"{PHP} events.json@{PHP_MSG_AT}"
    openapi = f"{PHP} openapi.json@{PHP_MSG_AT}"
    dotnet = f"{DOTNET} tests/GatewayAPI.Tests/GatewayAPIWebhookHandlerTest.cs@{DOTNET_AT}"
    wp = f"{WP} inc/cpt_receive_sms.php@{WP_AT}"

    def gw(name, description, body, headers, credentials, **kwargs):
        vec("gatewayapi", name, description, "gatewayapi", body, headers, credentials, **kwargs)

    def legacy(name, description, payload, indent=None):
        body = json.dumps(payload, indent=indent)
        gw(name, description, body, hj(payload), creds)

    def published(name, description, token, credentials=public, **kwargs):
        headers = {"Content-Type": "application/json", "X-Gwapi-Signature": token}
        gw(name, description, _claims_text(token), headers, credentials, **kwargs)

    # ------------------------------------------------------------------ legacy delivery reports
    legacy("public_legacy_dlr_doc_example",
           f"{rest}: the Delivery Status Notification callback example verbatim (charge_status CAPTURED). "
           "expect: message.status, provider status 'DELIVERED' (delivered), message id '1000001', "
           "to +4587654321, reference 'foobar', occurred_at 2015-12-13T09:46:40Z, no error",
           DOC_DLR, indent=4)
    for offset, (word, meaning, normalized) in enumerate(STATUS_WORDS):
        payload = {"id": 1000001, "msisdn": 4587654321, "time": 1450000000 + offset, "status": word,
                   "userref": "foobar", "country_code": "DK", "country_prefix": 45}
        legacy(f"public_legacy_dlr_status_{word.lower()}",
               f"{rest}: status table, {word} = {meaning}; the callback example's fields with this status. "
               f"expect: message.status, provider status '{word}' ({normalized}), message id '1000001', "
               "to +4587654321, reference 'foobar', one event per status (the id alone does not dedupe)",
               payload)
    legacy("public_legacy_dlr_error_hex_code",
           f"{rest}: DLR 'error' (description) and 'code' (string, numeric code in hex); "
           f"{errors}: SMS error 0x1013 'Absent subscriber'. expect: message.status, provider status "
           "'UNDELIVERABLE' (failed), error code '0x1013' (as sent), description 'Absent subscriber'",
           {"id": 1000003, "msisdn": 4587654321, "time": 1450000000, "status": "UNDELIVERABLE",
            "error": "Absent subscriber", "code": "0x1013", "userref": "foobar", "country_code": "DK",
            "country_prefix": 45})
    legacy("public_legacy_dlr_numeric_code",
           f"{errors}: error codes are 32-bit unsigned integers (0x1013 = 4115 'Absent subscriber'); "
           f"{rest} calls 'code' a 'numeric code, in hex' but types it string: no public sample sends a JSON "
           "number, this covers a sender that does. expect: message.status, provider status 'UNDELIVERABLE' "
           "(failed), error code read from the number 4115 (never a refused payload), description "
           "'Absent subscriber'",
           {"id": 1000004, "msisdn": 4587654321, "time": 1450000000, "status": "UNDELIVERABLE",
            "error": "Absent subscriber", "code": 4115, "userref": "foobar", "country_code": "DK",
            "country_prefix": 45})
    # Overcharged SMS: docs' example sends class charge from 1204 to 4512345678.
    for offset, (charge, meaning) in enumerate([
            ("AUTHORIZED", "the transaction is authorized"),
            ("CAPTURED", "captured, the amount will be charged on the phone bill"),
            ("REFUNDED", "a captured transaction was refunded (after POST /rest/refund)"),
            ("REFUND_FAIL", "the refund failed; only a notification, the charge stays CAPTURED")]):
        payload = {"id": 1000005, "msisdn": 4512345678, "time": 1450000000 + 60 * offset,
                   "status": "DELIVERED", "userref": "nokia-tune", "charge_status": charge,
                   "country_code": "DK", "country_prefix": 45}
        legacy(f"public_legacy_dlr_charge_{charge.lower()}",
               f"{rest}: Overcharged SMSes and Charge status, {charge} = {meaning}; one charged message's "
               f"DELIVERED report carrying charge_status {charge}. expect: message.status, provider status "
               f"'DELIVERED' (delivered), message id '1000005', to +4512345678, charge_status '{charge}' kept "
               "in raw; a distinct event (own idempotency key) from the same message's other charge_status "
               "reports",
               payload)
    published("public_dotnet_dlr_time_whole_float",
              f"{dotnet}: a captured DLR JWT whose claims carry \"time\":1616404260.0 (a whole-number float); "
              "the token verbatim, the body its exact claims (secret 'secret'). expect: message.status, "
              "provider status 'DELIVERED' (delivered), message id '1532583078', to +4528950372, "
              "occurred_at 2021-03-22T09:11:00Z, reference null",
              DOTNET_DLR_TOKEN)
    published("public_docs_dlr_token",
              f"{rest}: the Authentication token section's published HS256 token (secret 'secret'), verbatim; "
              "its claims add callback_url and api:4 and send error, code, userref as null. expect: "
              "message.status, provider status 'DELIVERED' (delivered), message id '2381703', to +4542609045, "
              "occurred_at 2018-04-03T14:01:02Z, no error, no reference, callback_url and api kept in raw",
              DOCS_TOKEN)
    published("public_php_sdk_dlr_token",
              f"{php_tests}: VALID_JWT verbatim (secret 'secret'): DELIVERED with error 'error text', "
              "code 'error code', charge_status AUTHORIZED, userref 'a reference'. expect: message.status, "
              "provider status 'DELIVERED' (delivered), message id '2381703', to +4542609045, reference "
              "'a reference', error code 'error code' and description 'error text' as sent",
              PHP_DLR_TOKEN)
    published("public_php_sdk_dlr_hs384",
              f"{php_tests}: testHS384's token verbatim (alg HS384, secret 'secret'), which "
              f"{PHP} src/Entities/Webhooks/Webhook.php@{PHP_HEAD_AT} accepts ('case HS384: $algo = sha384'). "
              "expect: accepted; message.status, provider status 'DELIVERED' (delivered), message id "
              "'2381703', to +4542609045",
              PHP_HS384_TOKEN)
    published("public_php_sdk_dlr_hs512",
              f"{php_tests}: testHS512's token verbatim (alg HS512, secret 'secret'). expect: accepted; "
              "message.status, provider status 'DELIVERED' (delivered), message id '2381703', to +4542609045",
              PHP_HS512_TOKEN)
    published("public_php_sdk_dlr_without_time",
              f"{php_tests}: testMissingRequiredKeys' token verbatim (secret 'secret'): a DLR with no 'time' "
              "(the SDK itself refuses it as missing a required key). expect: accepted all the same (a verified "
              "delivery is never refused for its shape); message.status, provider status 'DELIVERED' "
              "(delivered), message id '2381703', to +4542609045, occurred_at null",
              "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.eyJpZCI6MjM4MTcwMywibXNpc2RuIjo0NTQyNjA5MDQ1LCJzdGF0dXMiOiJE"
              "RUxJVkVSRUQiLCJlcnJvciI6bnVsbCwiY29kZSI6bnVsbCwidXNlcnJlZiI6bnVsbCwiY2FsbGJhY2tfdXJsIjoiaHR0cDovL2J"
              "iYWY3MTQyLm5ncm9rLmlvIiwiYXBpIjo0fQ.6lYoTn05tdJZIke3pxZg-dCxLjCeaOuWgjk7Ln6UQtA")
    for alg in ("HS384", "HS512"):
        payload = dict(DOC_DLR, status="ENROUTE", time=1449999990)
        del payload["charge_status"]
        body = json.dumps(payload)
        headers = {"Content-Type": "application/json", "X-Gwapi-Signature": jwt(GW_JWT, payload, alg=alg)}
        gw(f"public_legacy_dlr_{alg.lower()}",
           f"{PHP} src/Entities/Webhooks/Webhook.php@{PHP_HEAD_AT}: the SDK verifies alg {alg} with the "
           f"shared secret; the {rest} callback example (ENROUTE) signed {alg} with the configured jwt "
           "secret. expect: accepted; message.status, provider status 'ENROUTE' (sent), message id '1000001', "
           "to +4587654321, reference 'foobar'",
           body, headers, creds)
    published("public_err_php_sdk_alg_none",
              f"{php_tests}: testNoAlgorithm's token verbatim (header {{\"type\":\"JWT\",\"alg\":\"none\"}} "
              "with the HS256 token's signature), which the SDK refuses. expect: error jwt_algorithm_not_allowed",
              PHP_ALG_NONE_TOKEN, expect_error="jwt_algorithm_not_allowed")
    published("public_err_php_sdk_wrong_secret",
              f"{php_tests}: testInvalidSignature, VALID_JWT checked with the secret 'wrong'. "
              "expect: error signature_mismatch",
              PHP_DLR_TOKEN, credentials={"jwt_hs256": "wrong"}, expect_error="signature_mismatch")

    # ------------------------------------------------------------------ legacy MO SMS
    legacy("public_legacy_mo_doc_example",
           f"{rest}: the MO SMS callback example verbatim: keyword 'foo' leased on the shared short code "
           "45 1204, receiver 451204. expect: message.received, text 'foo Hello World', message id "
           "'1000001', from +4587654321, to '451204' (the short code as sent, not an E.164 number), "
           "occurred_at 2015-12-13T09:46:40Z",
           DOC_MO, indent=4)
    legacy("public_legacy_mo_short_code_1204",
           f"{rest}: 'a Danish (+45) user would send ie. \"foo hello world\" to \"1204\"' (keyword foo on "
           "short code 1204), with receiver as the user typed it. expect: message.received, text "
           "'foo hello world', from +4587654321, to '1204' (short code as sent)",
           dict(DOC_MO, id=1000006, receiver=1204, message="foo hello world", senttime=1450000100))
    legacy("public_legacy_mo_msisdn_plus_string",
           f"{rest}: MO fields (msisdn documented as an integer MSISDN; the send API types msisdn as a "
           "string); no public sample sends '+'-prefixed text, this covers a sender that does. expect: "
           "message.received, text 'foo Hello World', from +4587654321, to '451204'",
           dict(DOC_MO, id=1000007, msisdn="+4587654321"))
    published("public_php_sdk_mo_optional_fields",
              f"{PHP} tests/IncomingMessageWebhookTest.php@{PHP_HEAD_AT}: VALID_JWT verbatim (secret 'secret'), "
              "an MO with every optional field: sender 'test', mcc 123, mnc 125, validity_period 3434, "
              "encoding 'string', udh 'udh string', payload 'bin'. expect: message.received, text "
              "'foo Hello World', message id '1000001', from +4587654321, to '451204', the optional fields "
              "kept in raw",
              PHP_MO_TOKEN)
    mo_claims = json.loads(_claims_text(PHP_MO_TOKEN))
    gw("public_php_sdk_mo_token_body_without_id",
       f"{PHP} tests/IncomingMessageWebhookTest.php@{PHP_HEAD_AT}: VALID_JWT verbatim, sent with a body that "
       "leaves out its 'id' claim, re-spaced. The SDK reads the claims and ignores the body; the token has no "
       "exp, so whoever holds one could send it for ever with such bodies. expect: the same event as "
       "public_php_sdk_mo_optional_fields, read from the claims: message.received, id gatewayapi:mo:1000001, "
       "text 'foo Hello World'",
       json.dumps({key: value for key, value in mo_claims.items() if key != "id"}, indent=2),
       {"Content-Type": "application/json", "X-Gwapi-Signature": PHP_MO_TOKEN}, public)
    docs_claims = json.loads(_claims_text(DOCS_TOKEN))
    assert {"callback_url", "api"} <= docs_claims.keys()
    gw("public_docs_token_body_without_callback_url_and_api",
       f"{rest}: the 'Authentication token' example verbatim (secret 'secret'); its claims carry callback_url "
       "and api, which the docs' Delivery Status Notification example body does not show: the body here has "
       "the claims without those two. expect: message.status DELIVERED, id "
       "gatewayapi:dlr:2381703:4542609045:DELIVERED, raw with callback_url and api (read from the claims)",
       json.dumps({key: value for key, value in docs_claims.items() if key not in ("callback_url", "api")}),
       {"Content-Type": "application/json", "X-Gwapi-Signature": DOCS_TOKEN}, public)
    legacy("public_legacy_mo_optional_fields",
           f"{rest}: MO optional fields (sender text, mcc, mnc int, validity_period int, encoding, udh, "
           "payload, country_code, country_prefix) with the docs' own example values (GET /rest/mtsms: "
           "mcc 238, mnc 1, encoding 'UTF8', validity_period 86400; udh and payload Base64 as the send API "
           "encodes them: UDH 050003CC0201, payload 'foo Hello World') and an alphanumeric sender. expect: "
           "message.received, text 'foo Hello World', from +4512345678 (msisdn; the alphanumeric sender "
           "'GatewayAPI' kept in raw), to '451204'",
           {"id": 1000008, "msisdn": 4512345678, "receiver": 451204, "message": "foo Hello World",
            "senttime": 1450000200, "webhook_label": "test", "sender": "GatewayAPI", "mcc": 238, "mnc": 1,
            "validity_period": 86400, "encoding": "UTF8", "udh": "BQADzAIB", "payload": "Zm9vIEhlbGxvIFdvcmxk",
            "country_code": "DK", "country_prefix": 45})
    legacy("public_legacy_mo_senttime_float",
           f"{rest}: GET /rest/mosms answers senttime as a float (1554465205.0, message 'test', msisdn "
           "4512345678, receiver 451204, webhook 'Rukikab'); the same MO as a webhook. expect: "
           "message.received, text 'test', from +4512345678, to '451204', occurred_at 2019-04-05T11:53:25Z",
           {"id": 2398517, "msisdn": 4512345678, "receiver": 451204, "message": "test",
            "senttime": 1554465205.0, "webhook_label": "Rukikab"})
    published("public_dotnet_mo_captured",
              f"{dotnet}: the MO JWT verbatim (secret 'secret'), country_code and country_prefix null. "
              "expect: message.received, text 'test message', message id '1000001', from +4587654321, "
              "to '451204', occurred_at 2021-04-15T08:01:19Z",
              DOTNET_MO_TOKEN)

    # ------------------------------------------------------------------ Messaging API
    def messaging(name, description, payload):
        body = json.dumps(payload, indent=2)
        gw(name, description, body, h(body), creds)

    with_ref = {"event_id": "09c829a2-a77b-422d-8562-2f88e784dfb5",
                "timestamp": "2025-04-01T11:50:12.003029+00:00"}
    messaging("public_messaging_status_sms_minimal",
              f"{openapi}: Messaging Webhook 'minimal' example (reference null, error null). expect: "
              "message.status, provider event type message.status.sms, status 'DELIVERED' (delivered), "
              "message id '01JQRJWK259Y1YEECJZB50908V', to +4512345678, occurred_at "
              "2025-04-01T11:49:12.005021Z (status_at), no reference, no error",
              dict(with_ref, event_type="message.status.sms",
                   event={"msg_id": "01JQRJWK259Y1YEECJZB50908V", "recipient": 4512345678, "reference": None,
                          "status": "DELIVERED", "status_at": "2025-04-01T11:49:12.005021+00:00", "error": None}))
    messaging("public_messaging_status_sms",
              f"{events}: the message.status.sms sample. expect: message.status, status 'DELIVERED' "
              "(delivered), message id '01JQRJWK259Y1YEECJZB50908V', to +4512345678, reference "
              "'<client provided reference>'",
              dict(with_ref, event_type="message.status.sms",
                   event={"msg_id": "01JQRJWK259Y1YEECJZB50908V", "recipient": 4512345678,
                          "reference": "<client provided reference>", "status": "DELIVERED",
                          "status_at": "2025-04-01T11:49:12.005021+00:00", "error": None}))
    messaging("public_messaging_status_sms_rejected_error",
              f"{openapi}: Messaging Webhook 'full example' with error {{hex_code, details}}. expect: "
              "message.status, status 'REJECTED' (rejected), to +4512345678, error code '0x1905', "
              "description 'Unsupported sender'",
              dict(with_ref, event_type="message.status.sms",
                   event={"msg_id": "01JQRJWK259Y1YEECJZB50908V", "recipient": 4512345678,
                          "reference": "<client provided reference>", "status": "REJECTED",
                          "status_at": "2025-04-01T11:49:12.005021+00:00",
                          "error": {"hex_code": "0x1905", "details": "Unsupported sender"}}))
    messaging("public_messaging_status_rcs_read",
              f"{events}: the message.status.rcs sample, status READ, no error key (openapi's RCSStatus "
              "lists it as required). expect: message.status, provider event type message.status.rcs, status "
              "'READ' (read), to +4512345678, reference '<client provided reference>'",
              dict(with_ref, event_type="message.status.rcs",
                   event={"msg_id": "01JQRJWK259Y1YEECJZB50908V", "recipient": 4512345678,
                          "reference": "<client provided reference>", "status": "READ",
                          "status_at": "2025-04-01T11:49:12.005021+00:00"}))
    messaging("public_messaging_status_read_typed_sms",
              f"{openapi}: the 'rcs' example verbatim: event_type message.status.sms but status READ "
              "(RCS-only), no error key. expect: message.status, status 'READ' (read) whatever the type "
              "suffix says, to +4512345678",
              {"event_id": "a3243dcd-c2ec-4adf-a137-8a5948950a63", "timestamp": "2025-04-01T11:50:12.003029+00:00",
               "event_type": "message.status.sms",
               "event": {"msg_id": "01JQRJWK259Y1YEECJZB50908V", "recipient": 4512345678,
                         "reference": "<client provided reference>", "status": "READ",
                         "status_at": "2025-04-01T11:49:12.005021+00:00"}})
    messaging("public_messaging_user_text_sms",
              f"{events}: the user-message.text.sms sample: content {{message, encoding UCS2, header "
              "050003CC0201}}, no recipient. expect: message.received, text 'Hello World', from "
              "+4512345678, to null, message id '01K33QFGSHXXM0Q7HM7QS34PY6', occurred_at "
              "2025-04-01T11:49:12.005021Z (sent_at)",
              dict(with_ref, event_type="user-message.text.sms",
                   event={"msg_id": "01K33QFGSHXXM0Q7HM7QS34PY6", "sender": 4512345678,
                          "sent_at": "2025-04-01T11:49:12.005021+00:00",
                          "content": {"message": "Hello World", "encoding": "UCS2", "header": "050003CC0201"}}))
    messaging("public_messaging_user_text_rcs_string",
              f"{events}: the user-message.text.rcs sample: content is a plain STRING ({PHP} "
              f"src/Entities/Webhooks/IncomingMessageWebhook.php@{PHP_MSG_AT}). expect: message.received, "
              "text 'Hello world!', from +4512345678, to null (sent to an RCS agent)",
              dict(with_ref, event_type="user-message.text.rcs",
                   event={"msg_id": "01K33QFGSHXXM0Q7HM7QS34PY6", "sender": 4512345678, "content": "Hello world!",
                          "sent_at": "2025-04-01T11:49:12.005021+00:00"}))
    messaging("public_messaging_user_location_rcs",
              f"{events}: the user-message.location.rcs sample, content {{latitude 55.6806024, longitude "
              "12.5790722}}. expect: message.received, provider event type user-message.location.rcs, "
              "from +4512345678, text null, the location kept in raw",
              dict(with_ref, event_type="user-message.location.rcs",
                   event={"msg_id": "01K33QFGSHXXM0Q7HM7QS34PY6", "sender": 4512345678,
                          "content": {"latitude": 55.6806024, "longitude": 12.5790722},
                          "sent_at": "2025-04-01T11:49:12.005021+00:00"}))
    blob = "https://rcs-<region>.googleapis.com/blob/<conversation-id>/<object-id>"
    messaging("public_messaging_user_file_rcs",
              f"{events}: the user-message.file.rcs sample, content {{category null, thumbnail, payload}} "
              "(mime_type, size_bytes, name, uri). expect: message.received, provider event type "
              "user-message.file.rcs, from +4512345678, text null, the file kept in raw",
              dict(with_ref, event_type="user-message.file.rcs",
                   event={"msg_id": "01K33QFGSHXXM0Q7HM7QS34PY6", "sender": 4512345678,
                          "content": {"category": None,
                                      "thumbnail": {"mime_type": "image/jpeg", "size_bytes": 5246, "name": None,
                                                    "uri": blob},
                                      "payload": {"mime_type": "image/jpeg", "size_bytes": 24285,
                                                  "name": "9112194760767796361.jpg", "uri": blob}},
                          "sent_at": "2025-04-01T11:49:12.005021+00:00"}))

    # ------------------------------------------------------------------ URL token (wp-gatewayapi)
    url_creds = {"url_token": URL_TOKEN}
    mo = {"id": 1000009, "msisdn": 4587654321, "receiver": 451204, "message": "foo Hello World",
          "senttime": 1450000300, "webhook_label": "wordpress", "country_code": "DK", "country_prefix": 45}
    body = json.dumps(mo)
    plain = {"Content-Type": "application/json"}
    gw("public_url_token_wp_plugin",
       f"{wp}: the plugin authenticates inbound MO SMS only by $_GET['token'] === its stored token (no "
       "X-Gwapi-Signature check); an unsigned MO with the token in the query. expect: message.received, "
       "text 'foo Hello World', from +4587654321, to '451204'",
       body, plain, url_creds, url=f"https://example.test/hook?token={URL_TOKEN}")
    gw("public_url_token_wp_plugin_admin_ajax",
       f"{WP} inc/helpers.php@{WP_AT}: the plugin's webhook URL is admin-ajax.php?action=gatewayapi_receive_sms"
       "&token=<token> (token after another parameter). expect: message.received, text 'foo Hello World', "
       "from +4587654321, to '451204'",
       body, plain, url_creds,
       url=f"https://example.test/wp-admin/admin-ajax.php?action=gatewayapi_receive_sms&token={URL_TOKEN}")
    gw("public_err_url_token_wrong",
       f"{wp}: a token that is not the stored one gets HTTP 400 'Invalid token'. expect: error "
       "authorization_mismatch",
       body, plain, url_creds, expect_error="authorization_mismatch",
       url="https://example.test/hook?token=gwapi-URL-token-guess")
    gw("public_err_url_token_missing",
       f"{wp}: no token in the URL fails the isset($_GET['token']) check. expect: error missing_authorization",
       body, plain, url_creds, expect_error="missing_authorization",
       url="https://example.test/hook")
