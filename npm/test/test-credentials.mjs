// Credentials with every scheme of each provider, shared by the test-kit tests.
export const CREDENTIALS = {
  limephone: { hmac_sha256: "lime-secret", bearer: "lime-token" },
  lisoloo: { basic: { username: "hook", password: "liso-pass" }, hmac_sha256: "liso-secret" },
  gatewayapi: { hmac_sha256: "gw-secret", jwt_hs256: "gw-jwt" },
  looplookup: { authorization: "Token loop-auth" },
  did_reseller: { url_token: "did-token" },
  twilio: { auth_token: "twilio-token" },
  // RFC 8032's test key: the test kit signs only for its test keys.
  telnyx: { ed25519_public_key: "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=" },
  vonage: { jwt_hs256: "vonage-secret" },
};
