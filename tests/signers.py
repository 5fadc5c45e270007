"""The signers of the vector generators (tests/vectors/generate.py and generate_hostile.py), once.

Written with Python's own hmac, hashlib and base64, deliberately independent of the Rust core:
every vector signed here cross-checks the core's verification, and core/tests/vectors.rs checks
that the core's own `sign` (the test kit) reproduces these signatures. Keep it independent: a
signer that called into telhook would only check the core against itself.
"""
import base64
import hashlib
import hmac
import json


def _bytes(data):
    return data if isinstance(data, bytes) else data.encode("utf-8")


def hmac_hex(secret, body):
    """HMAC-SHA256 of `body` (str or bytes) as hex (LimePhone, GatewayAPI's Signature)."""
    return hmac.new(secret.encode(), _bytes(body), hashlib.sha256).hexdigest()


def hmac_b64(secret, body):
    """HMAC-SHA256 of `body` as standard base64."""
    return base64.b64encode(hmac.new(secret.encode(), _bytes(body), hashlib.sha256).digest()).decode()


def b64url(data):
    """Unpadded base64url, as in a JWT."""
    return base64.urlsafe_b64encode(_bytes(data)).rstrip(b"=").decode()


_JWT_HASHES = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}


def jwt(secret, claims, header=None, raw_claims=None, alg="HS256"):
    """An HMAC JWT of `claims`, signed with `alg` (HS256, HS384 or HS512; default HS256).

    `header` may be a dict or raw bytes (default `{"alg": alg, "typ": "JWT"}`; an explicit header
    is used as given, whatever alg it names), `raw_claims` raw bytes."""
    if alg not in _JWT_HASHES:
        raise ValueError(f"unsupported JWT alg {alg!r}: expected one of {sorted(_JWT_HASHES)}")
    header = header if header is not None else {"alg": alg, "typ": "JWT"}
    head = b64url(json.dumps(header, separators=(",", ":")) if isinstance(header, dict) else header)
    body = b64url(raw_claims if raw_claims is not None else json.dumps(claims, separators=(",", ":")))
    sig = hmac.new(secret.encode(), f"{head}.{body}".encode(), _JWT_HASHES[alg]).digest()
    return f"{head}.{body}.{b64url(sig)}"


def basic(user, password):
    """The Authorization value of HTTP Basic."""
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
