// The signed requests behind the Workers and Vercel Edge entries' start-up warm-up
// (src/warm-up.mjs), shared by scripts/build.mjs and bench/node/startup.mjs.
import { readdirSync, readFileSync } from "node:fs";

/**
 * The providers whose request is normalized at start-up. One is enough: V8 compiles a wasm
 * function on its first call, and most of what a request runs — the HMAC, the JSON parse,
 * redaction, the event's JSON — is shared by every provider, while each provider's own code is
 * small. Measured in workerd (bench/node/startup.mjs, 2026-12-02): warming up all eight
 * providers added 51.7 ms to a cold start over an empty Worker's and left each provider's
 * first request at most 2.2 ms over the empty Worker's; warming up gatewayapi alone, 28-38 ms
 * and at most 3.6-5.5 ms across runs (Telnyx, whose Ed25519 code is compiled on its first
 * request); gatewayapi and telnyx, 37-39 ms and at most 3.4 ms. Issue 27's goals: ≤ 35 ms and
 * ≤ 5 ms (bench/PROFILE.md).
 */
export const WARM_UP_PROVIDERS = ["gatewayapi"];

/**
 * One signed request per provider: a success vector of tests/vectors, preferring a documented
 * example (doc_*), then a status report, then any but edge cases (shape_*), the smallest of its
 * kind. `[{file, value: {provider, credentials, request, now}}]`, by provider name.
 */
export function providerRequests() {
  const vectors = new URL("../../tests/vectors/", import.meta.url);
  const rank = (name) =>
    /^(shape|detected|err)_/.test(name) ? 3 : name.startsWith("doc_") ? 0 : /status|dlr/.test(name) ? 1 : 2;
  const chosen = [];
  const dirs = readdirSync(vectors, { withFileTypes: true }).filter((d) => d.isDirectory());
  for (const provider of dirs.map((d) => d.name).sort()) {
    const files = readdirSync(new URL(`${provider}/`, vectors)).filter((f) => f.endsWith(".json"));
    const candidates = [];
    for (const file of files) {
      const vector = JSON.parse(readFileSync(new URL(`${provider}/${file}`, vectors), "utf8"));
      if (vector.provider !== provider || !vector.expect || "error" in vector.expect) continue;
      if (!vector.credentials || vector.credentials.insecure_skip_verification) continue;
      const { credentials, request, now } = vector;
      const text = JSON.stringify({ provider, credentials, request, now });
      candidates.push({ rank: rank(file), size: text.length, file, value: { provider, credentials, request, now } });
    }
    candidates.sort((a, b) => a.rank - b.rank || a.size - b.size || a.file.localeCompare(b.file));
    if (candidates.length > 0) chosen.push(candidates[0]);
  }
  return chosen;
}
