// `make bench`, start-up part (issue 14's "first import + first normalize ≤ 10 ms in Node and in
// workerd"). Node: a fresh process times its own `import` of the package plus one Receiver and
// one normalize. workerd: a fresh Miniflare (workerd process, Worker compiled, wasm module
// compiled) until its first answer, for a Worker that normalizes one limephone delivery minus
// the same for a Worker that imports nothing — what telhook adds to a cold start — and what it
// adds to the first request after it. Minimum of 5 Node and 5 workerd runs. Writes target/bench/startup.json for bench/report.py.
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Miniflare } from "miniflare";
import { providerRequests } from "../../npm/scripts/warm-up-requests.mjs";
import { bundleWorker, workerOptions } from "./workerd.mjs";

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const payload = JSON.parse(readFileSync(here("../payloads/limephone.json"), "utf8"));
const results = { payload: payload.name };

const nodeRuns = [];
for (let i = 0; i < 5; i++) {
  const script = `
    const payload = ${JSON.stringify(payload)};
    const t0 = performance.now();
    const { Receiver } = await import(${JSON.stringify(here("../../npm/dist/node.mjs"))});
    const imported = performance.now();
    new Receiver(payload.provider, payload.credentials).normalize(payload.request, { now: payload.now });
    console.log(JSON.stringify({ import_ms: imported - t0, total_ms: performance.now() - t0 }));`;
  nodeRuns.push(JSON.parse(String(execFileSync(process.execPath, ["--input-type=module", "-e", script]))));
}
results.node_import_ms = Math.min(...nodeRuns.map((r) => r.import_ms));
results.node_first_normalize_ms = Math.min(...nodeRuns.map((r) => r.total_ms));

const dir = mkdtempSync(join(tmpdir(), "telhook-startup-"));
writeFileSync(
  join(dir, "telhook.mjs"),
  `import { Receiver } from "telhook";
   const payload = ${JSON.stringify(payload)};
   export default { async fetch() {
     const event = new Receiver(payload.provider, payload.credentials).normalize(payload.request, { now: payload.now });
     return new Response(event.id);
   } };`,
);
writeFileSync(join(dir, "bare.mjs"), `export default { async fetch() { return new Response("ok"); } };`);
// One Worker per provider, normalizing that provider's signed request (the same vectors the
// build checks): the warm-up compiles at start-up what one provider's request runs, and the
// first request of every other provider must still stay within the goal.
const providers = providerRequests().map(({ value }) => value);
for (const { provider, credentials, request, now } of providers) {
  writeFileSync(
    join(dir, `provider-${provider}.mjs`),
    `import { Receiver } from "telhook";
     const given = ${JSON.stringify({ provider, credentials, request, now })};
     export default { async fetch() {
       const event = new Receiver(given.provider, given.credentials).normalize(given.request, { now: given.now });
       return new Response(event.id);
     } };`,
  );
}
const workers = ["telhook", "bare", ...providers.map(({ provider }) => `provider-${provider}`)];
for (const name of workers) await bundleWorker(dir, `${name}.mjs`, `${name}-worker.mjs`);

// The cold start until the first answer, and that first request alone (from `ready` to its
// answer): what telhook adds to it over the empty Worker's first request is the work the first
// request does beyond the second (the wasm functions V8 compiles on their first call, unless
// the start-up warm-up compiled them; performance.now() does not advance inside workerd).
async function coldStart(name) {
  const t0 = performance.now();
  const mf = new Miniflare(workerOptions(dir, `${name}-worker.mjs`));
  await mf.ready;
  const ready = performance.now();
  const response = await mf.dispatchFetch("https://bench.test/", { method: "POST" });
  const text = await response.text();
  const answered = performance.now();
  await (await mf.dispatchFetch("https://bench.test/", { method: "POST" })).text();
  const second = performance.now() - answered;
  await mf.dispose();
  if (name === "telhook" && !text.startsWith("limephone:")) throw new Error(`workerd answered ${text}`);
  const provider = name.startsWith("provider-") ? name.slice("provider-".length) : null;
  if (provider !== null && !text.startsWith(`${provider}:`)) throw new Error(`${name}: workerd answered ${text}`);
  return { cold: answered - t0, first: answered - ready, second };
}
const cold = { telhook: [], bare: [] };
for (let i = 0; i < 5; i++) {
  for (const name of ["bare", "telhook"]) cold[name].push(await coldStart(name));
}
const least = (runs, key) => Math.min(...runs.map((r) => r[key]));
results.workerd_cold_start_ms = least(cold.telhook, "cold");
results.workerd_bare_cold_start_ms = least(cold.bare, "cold");
results.workerd_added_ms = results.workerd_cold_start_ms - results.workerd_bare_cold_start_ms;
results.workerd_first_request_ms = least(cold.telhook, "first");
results.workerd_bare_first_request_ms = least(cold.bare, "first");
results.workerd_second_request_ms = least(cold.telhook, "second");
results.workerd_first_request_added_ms = results.workerd_first_request_ms - results.workerd_bare_first_request_ms;
// Each provider's first request after a cold start, over the empty Worker's (minimum of 3).
results.workerd_first_request_added_by_provider_ms = {};
for (const { provider } of providers) {
  const runs = [];
  for (let i = 0; i < 3; i++) runs.push(await coldStart(`provider-${provider}`));
  results.workerd_first_request_added_by_provider_ms[provider] = least(runs, "first") - results.workerd_bare_first_request_ms;
}

mkdirSync(here("../../target/bench"), { recursive: true });
writeFileSync(here("../../target/bench/startup.json"), JSON.stringify(results, null, 2));
console.error("startup: written target/bench/startup.json", JSON.stringify(results));
