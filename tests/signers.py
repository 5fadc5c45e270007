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


# Ed25519 (RFC 8032), the reference implementation of RFC 8032 section 6 in pure Python: the
# standard library has no Ed25519, and the vectors must not depend on a package (nor on the
# core). Slow, which does not matter for a few dozen signatures; checked against the RFC's
# test vectors and the SDK-derived signatures of tests/fixtures/sdk/telnyx.json by the
# generator.
_P = 2 ** 255 - 19
_Q = 2 ** 252 + 27742317777372353535851937790883648493
_D = -121665 * pow(121666, _P - 2, _P) % _P
_SQRT_M1 = pow(2, (_P - 1) // 4, _P)


def _recover_x(y, sign):
    x2 = (y * y - 1) * pow(_D * y * y + 1, _P - 2, _P)
    if x2 % _P == 0:
        return 0
    x = pow(x2, (_P + 3) // 8, _P)
    if (x * x - x2) % _P != 0:
        x = x * _SQRT_M1 % _P
    if (x & 1) != sign:
        x = _P - x
    return x


_GY = 4 * pow(5, _P - 2, _P) % _P
_GX = _recover_x(_GY, 0)
_G = (_GX, _GY, 1, _GX * _GY % _P)


def _add(a, b):
    x = (a[1] - a[0]) * (b[1] - b[0]) % _P
    y = (a[1] + a[0]) * (b[1] + b[0]) % _P
    c = 2 * a[3] * b[3] * _D % _P
    d = 2 * a[2] * b[2] % _P
    e, f, g, h = y - x, d - c, d + c, y + x
    return (e * f, g * h, f * g, e * h)


def _mul(s, point):
    result = (0, 1, 1, 0)
    while s > 0:
        if s & 1:
            result = _add(result, point)
        point = _add(point, point)
        s >>= 1
    return result


def _compress(point):
    zinv = pow(point[2], _P - 2, _P)
    x, y = point[0] * zinv % _P, point[1] * zinv % _P
    return int.to_bytes(y | ((x & 1) << 255), 32, "little")


def _expand(seed):
    h = hashlib.sha512(seed).digest()
    a = int.from_bytes(h[:32], "little")
    a &= (1 << 254) - 8
    a |= 1 << 254
    return a, h[32:]


def ed25519_public(seed):
    """The 32-byte public key of a 32-byte private key (seed)."""
    return _compress(_mul(_expand(seed)[0], _G))


def ed25519_sign(seed, message):
    """The 64-byte Ed25519 signature of `message` (str or bytes) with the 32-byte `seed`."""
    message = _bytes(message)
    a, prefix = _expand(seed)
    public = _compress(_mul(a, _G))
    r = int.from_bytes(hashlib.sha512(prefix + message).digest(), "little") % _Q
    big_r = _compress(_mul(r, _G))
    h = int.from_bytes(hashlib.sha512(big_r + public + message).digest(), "little") % _Q
    return big_r + int.to_bytes((r + h * a) % _Q, 32, "little")
def twilio_signature(token, url, params=(), algorithm="HMAC_SHA1"):
    """X-Twilio-Signature: base64 HMAC-SHA1 of the URL, then each form parameter name + value, names
    sorted and each name's distinct values sorted (twilio-python request_validator.py). `params`:
    (name, value) pairs, decoded. With a Webhooks Setting's shared key (public beta) the same
    string is signed with the Setting's algorithm: `algorithm="HMAC_SHA256"`, `token` the SharedKey
    secret (twilio-node examples/WebhookSignatureValidation.md)."""
    digest = {"HMAC_SHA1": hashlib.sha1, "HMAC_SHA256": hashlib.sha256}[algorithm]
    grouped = {}
    for name, value in params:
        grouped.setdefault(name, set()).add(value)
    signed = url + "".join(name + value for name in sorted(grouped) for value in sorted(grouped[name]))
    return base64.b64encode(hmac.new(token.encode(), signed.encode(), digest).digest()).decode()


def vonage_sig(secret, params, method="sha256"):
    """The Vonage SMS API's `sig`: every parameter but `sig`, sorted by name, as `&name=value`
    with `&` and `=` in values replaced by `_` (vonage-php-sdk-core Signature.php), then
    md5(string + secret) ("md5hash") or the HMAC `method` (md5, sha1, sha256, sha512), hex.
    `params`: (name, value) pairs or a dict, decoded."""
    pairs = params.items() if isinstance(params, dict) else params
    signed = "".join("&" + name + "=" + str(value).replace("&", "_").replace("=", "_")
                     for name, value in sorted(pairs) if name != "sig")
    if method == "md5hash":
        return hashlib.md5((signed + secret).encode()).hexdigest()
    return hmac.new(secret.encode(), signed.encode(), getattr(hashlib, method)).hexdigest()
