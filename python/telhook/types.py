"""Typed shape of the normalized event (schema v1) and of the credentials."""

from __future__ import annotations

# Only the standard library's typing (3.9+): the package has no runtime dependency.
from typing import Any, Dict, List, Literal, Optional, TypedDict, Union

# <generated: vocabularies>
# Generated from telhook-core by `make vocabularies`; do not edit.
ProviderName = Literal[
    "looplookup",
    "did_reseller",
    "limephone",
    "lisoloo",
    "gatewayapi",
    "vonage",
    "telnyx",
    "twilio",
]
EventTypeName = Literal[
    "message.received",
    "message.sent",
    "message.status",
    "call.incoming",
    "call.missed",
    "call.completed",
    "call.status",
    "voicemail.received",
    "lookup.completed",
    "record.created",
    "record.updated",
    "record.deleted",
    "provisioning.failed",
    "other",
]
DeliveryStatus = Literal[
    "unknown",
    "accepted",
    "queued",
    "sent",
    "carrier_accepted",
    "failed",
    "expired",
    "rejected",
    "canceled",
    "delivered",
    "read",
]
Direction = Literal[
    "inbound",
    "outbound",
]
ContactKind = Literal[
    "phone",
    "email",
    "other",
]
RecordAction = Literal[
    "created",
    "updated",
    "deleted",
]
ErrorCode = Literal[
    "unknown_provider",
    "provider_not_detected",
    "method_not_allowed",
    "body_too_large",
    "missing_credentials",
    "invalid_credentials",
    "missing_signature",
    "invalid_signature_format",
    "signature_mismatch",
    "unsupported_signature_algorithm",
    "timestamp_out_of_tolerance",
    "too_many_signatures",
    "missing_authorization",
    "invalid_authorization_format",
    "authorization_mismatch",
    "ambiguous_header",
    "ambiguous_provider",
    "jwt_malformed",
    "jwt_algorithm_not_allowed",
    "jwt_expired",
    "jwt_not_yet_valid",
    "jwt_payload_mismatch",
    "malformed_json",
    "malformed_nested_json",
    "invalid_payload",
    "invalid_timestamp",
    "invalid_request",
    "invalid_clock",
    "invalid_option",
    "raw_body_unavailable",
]
ErrorKind = Literal[
    "verification",
    "parse",
    "configuration",
    "request",
]
AnswerCode = Literal[
    "accepted",
    "queued",
    "duplicate",
    "handler_status",
    "delivery_in_progress",
    "handler_failed",
    "dedupe_unavailable",
    "internal",
]
Outcome = Literal[
    "accepted",
    "duplicate",
    "verification_failed",
    "malformed",
    "internal_error",
]
AuthScheme = Literal[
    "hmac_sha256",
    "bearer",
    "authorization",
    "basic",
    "jwt_hs256",
    "url_token",
    "ed25519_public_key",
    "auth_token",
    "shared_key",
]
InboxState = Literal[
    "pending",
    "processing",
    "done",
    "failed",
    "dead",
]
# </generated>
EventType = EventTypeName


class StatusInfo(TypedDict):
    value: DeliveryStatus
    final: bool
    rank: int
    provider_status: str


class ProviderError(TypedDict):
    code: Optional[str]
    description: Optional[str]


class Message(TypedDict):
    id: Optional[str]
    direction: Optional[Direction]
    text: Optional[str]
    reference: Optional[str]
    error: Optional[ProviderError]


class Call(TypedDict):
    id: Optional[str]
    direction: Optional[Direction]
    status: Optional[str]
    voicemail_url: Optional[str]
    duration_seconds: Optional[int]


class AppleService(TypedDict):
    status: str
    last_seen: Optional[str]


class Lookup(TypedDict):
    request_id: Optional[str]
    contact: Optional[str]
    contact_kind: Literal["phone", "email", "other"]
    facetime: Optional[AppleService]
    imessage: Optional[AppleService]
    carrier: Optional[str]
    number_type: Optional[str]
    country: Optional[str]


class RecordChange(TypedDict):
    action: Literal["created", "updated", "deleted"]
    schema: str
    id: Optional[str]
    data: Optional[Dict[str, Any]]
    error: Optional[str]


NormalizedEvent = TypedDict(
    "NormalizedEvent",
    {
        "schema_version": Literal[1],
        "provider": ProviderName,
        "id": str,
        "type": EventType,
        "provider_event_type": str,
        "occurred_at": Optional[str],
        "received_at": str,
        "from": Optional[str],
        "to": Optional[str],
        "status": Optional[StatusInfo],
        "message": Optional[Message],
        "call": Optional[Call],
        "lookup": Optional[Lookup],
        "record": Optional[RecordChange],
        "unread_fields": List[str],
        "raw": Any,
    },
)

LedgerVerdict = Literal["applied", "stale", "after_final"]

LedgerState = TypedDict(
    "LedgerState",
    {
        "provider": ProviderName,
        "message_id": str,
        "recipient": Optional[str],
        "status": DeliveryStatus,
        "rank": int,
        "final": bool,
        "error": Optional[ProviderError],
        "seen": Dict[str, str],
        "parts": int,
        "delivered_parts": Dict[str, str],
    },
)


class LedgerApplied(TypedDict):
    verdict: LedgerVerdict
    state: LedgerState


StatusUpdate = TypedDict(
    "StatusUpdate",
    {
        "provider": ProviderName,
        "message_id": str,
        "recipient": Optional[str],
        "event_id": str,
        "status": DeliveryStatus,
        "rank": int,
        "final": bool,
        "at": str,
        "error": Optional[ProviderError],
        "parts": int,
        "delivered_part": bool,
        "partial_status": DeliveryStatus,
        "partial_rank": int,
        "partial_final": bool,
    },
)


class BasicCredential(TypedDict):
    username: str
    password: str


class ProviderCredentials(TypedDict, total=False):
    """One provider's credentials (or, with a named provider, the credentials it reads)."""

    hmac_sha256: Union[str, List[str]]
    bearer: Union[str, List[str]]
    authorization: Union[str, List[str]]
    basic: Union[BasicCredential, List[BasicCredential]]
    jwt_hs256: Union[str, List[str]]
    signature_secret: Union[str, List[str]]
    url_token: Union[str, List[str]]
    url_token_param: str
    ed25519_public_key: Union[str, List[str]]
    auth_token: Union[str, List[str]]
    shared_key: Union[str, List[str]]
    insecure_skip_verification: bool


# <generated: per-provider credentials>
# Generated from telhook-core by `make vocabularies`; do not edit.
class PerProviderCredentials(TypedDict, total=False):
    """Each provider's own credentials; required when the provider is detected per request."""

    looplookup: ProviderCredentials
    did_reseller: ProviderCredentials
    limephone: ProviderCredentials
    lisoloo: ProviderCredentials
    gatewayapi: ProviderCredentials
    vonage: ProviderCredentials
    telnyx: ProviderCredentials
    twilio: ProviderCredentials
# </generated>


Credentials = Union[ProviderCredentials, PerProviderCredentials]


__all__ = [
    "AppleService", "BasicCredential", "Call", "Credentials", "DeliveryStatus", "Direction", "ErrorCode",
    "EventType", "Lookup", "Message", "NormalizedEvent", "Outcome", "PerProviderCredentials", "ProviderCredentials",
    "ProviderError", "ProviderName", "RecordChange", "StatusInfo",
]
