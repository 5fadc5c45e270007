// The signed requests behind the Workers and Vercel Edge entries' start-up warm-up
// (src/warm-up.mjs), shared by scripts/build.mjs and bench/node/startup.mjs.
import { readdirSync, readFileSync } from "node:fs";

/**
 * The providers whose request is normalized at start-up: all of them. V8 compiles a wasm function
 * on its first call; what a first request compiles lands in that request's CPU time (10 ms on the
 * Workers Free plan, where a request over it fails, and Twilio does not retry a failed SMS
 * webhook), while start-up has its own budget (1 s). Issue 27 asks for the compile to move to
 * start-up. Counted (Liftoff bytes, which the host's load does not move; bench/node/
 * workerd-compile.mjs, 2026-12-07): with gatewayapi alone warmed, start-up compiled 217,621 B and a
 * provider's first request up to 63,893 B (Telnyx: Ed25519), Twilio 46,974, Vonage 42,548, the
 * others 15-24 KB; with all eight, start-up 383,825 B and every provider's first request 0 B
 * (a memoryInbox's own calls 7,366 B). At ~15 KB a millisecond that is ~11 ms more cold start
 * (goal ≤ 35 ms over an empty Worker's, missed before at 45) for ≤ 0.5 ms of compile in any first
 * request (goal ≤ 5 ms, missed before at 6.5 for Twilio): bench/PROFILE.md, thirty-sixth session.
 * Only the first provider runs every entry (src/warm-up.mjs); the others one delivery each, which
 * compiles their own code (Node, the entry's import with its warm-up, least of 12 interleaved:
 * 27.3 ms with gatewayapi alone, 42.3 ms with all eight through every entry, 40.0 ms so).
 */
export const WARM_UP_PROVIDERS = ["did_reseller", "gatewayapi", "limephone", "lisoloo", "looplookup", "telnyx", "twilio", "vonage"];

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
