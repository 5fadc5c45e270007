// `make bench`, start-up part (issue 27's start-up goals). Node: a fresh process runs an app's
// ES module file that times its own first `import` of the package plus one Receiver and one
// normalize, as an app does; beside it, the same app importing an empty module (what Node's own
// loader costs a first dynamic import). workerd: a fresh Miniflare (workerd process, Worker
// compiled, wasm module compiled) until its first answer, minus the same for a Worker that
// imports nothing — what telhook adds to a cold start — and what it adds to the first request
// after it; for a Worker that normalizes one limephone delivery with a Receiver, and for two
// written as the README's Workers examples are (createHandler built in its first request, its
// credentials being in `env`; with a store, and with an inbox); and the cold start of a Worker
// that only imports the .wasm (workerd compiling the module). Minimum of 9 Node and 16 workerd runs
// (interleaved; each workerd start takes ~0.1 s, and the least of 8 moved by 10-15 ms between
// runs of one build, bench/PROFILE.md 2026-12-04). Writes
// target/bench/startup.json for bench/report.py.
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

const dir = mkdtempSync(join(tmpdir(), "telhook-startup-"));
// The first import from an app's own module file, not from `node -e`: there the first dynamic
// import also starts Node's ES module loader, ~4 ms that an app whose entry is a file has paid
// before its first line runs (bench/PROFILE.md, 2026-12-04, thirteenth session).
const firstImport = (specifier, work) => `
  const payload = ${JSON.stringify(payload)};
  const t0 = performance.now();
  const imported = await import(${JSON.stringify(specifier)});
  const t1 = performance.now();
  ${work}
  console.log(JSON.stringify({ import_ms: t1 - t0, total_ms: performance.now() - t0 }));`;
writeFileSync(join(dir, "empty-module.mjs"), "export const nothing = null;\n");
writeFileSync(join(dir, "app-empty.mjs"), firstImport(join(dir, "empty-module.mjs"), ""));
writeFileSync(
  join(dir, "app-telhook.mjs"),
  firstImport(here("../../npm/dist/node.mjs"),
    "new imported.Receiver(payload.provider, payload.credentials).normalize(payload.request, { now: payload.now });"),
);
const nodeRuns = { telhook: [], empty: [] };
for (let i = 0; i < 9; i++) {
  for (const app of ["empty", "telhook"]) {
    nodeRuns[app].push(JSON.parse(String(execFileSync(process.execPath, [join(dir, `app-${app}.mjs`)]))));
  }
}
results.node_import_ms = Math.min(...nodeRuns.telhook.map((r) => r.import_ms));
results.node_first_normalize_ms = Math.min(...nodeRuns.telhook.map((r) => r.total_ms));
results.node_empty_module_import_ms = Math.min(...nodeRuns.empty.map((r) => r.import_ms));

writeFileSync(
  join(dir, "telhook.mjs"),
  `import { Receiver } from "telhook";
   const payload = ${JSON.stringify(payload)};
   export default { async fetch() {
     const event = new Receiver(payload.provider, payload.credentials).normalize(payload.request, { now: payload.now });
     return new Response(event.id);
   } };`,
);
// The README's Workers examples' shape: the handler built in the first request (the credentials
// are in `env`), with a store, and with an inbox (the README's uses queueInbox; memoryInbox runs
// the same machine steps without a Queue binding).
const handlerWorker = (factory, option) => `import { createHandler, ${factory} } from "telhook";
   const payload = ${JSON.stringify(payload)};
   let handle;
   export default { fetch: (request, env, ctx) => (handle ??= createHandler({
     provider: payload.provider, credentials: payload.credentials, clock: () => payload.now, ${option},
   }))(request, env, ctx) };`;
writeFileSync(
  join(dir, "handler.mjs"),
  handlerWorker("memoryStore", "store: memoryStore(), onEvent: (event) => { globalThis.lastEventId = event.id; }"),
);
writeFileSync(join(dir, "inbox.mjs"), handlerWorker("memoryInbox", "inbox: memoryInbox({ clock: () => payload.now })"));
writeFileSync(join(dir, "bare.mjs"), `export default { async fetch() { return new Response("ok"); } };`);
// The empty Worker the handler Workers are measured against: sent the same signed delivery, and
// reading its body as any webhook receiver must. Miniflare carrying a 388 B body in and workerd
// handing it over added 0.4-3.5 ms to the first request over the bodiless empty Worker's in four
// of five runs (the least of 10-16 cold starts each; bench/PROFILE.md, thirtieth session): work
// of the request, not of telhook.
writeFileSync(
  join(dir, "bare_body.mjs"),
  `export default { async fetch(request) { return new Response(String((await request.arrayBuffer()).byteLength)); } };`,
);
// A Worker that only imports the receiver's .wasm: workerd compiles a module at start-up, so its
// cold start over the empty Worker's is the part of every telhook Worker's that grows with the
// module's size (the rest: the package's JS, the warm-up, the first request).
writeFileSync(
  join(dir, "module.mjs"),
  `import wasm from "./telhook_wasm_bg.wasm";
   export default { async fetch() { return new Response(String(wasm instanceof WebAssembly.Module)); } };`,
);
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
const workers = ["telhook", "handler", "inbox", "bare", "bare_body", "module", ...providers.map(({ provider }) => `provider-${provider}`)];
for (const name of workers) await bundleWorker(dir, `${name}.mjs`, `${name}-worker.mjs`);

// The cold start until the first answer, and that first request alone (from `ready` to its
// answer): what telhook adds to it over the empty Worker's first request is the work the first
// request does beyond the second (the wasm functions V8 compiles on their first call, unless
// the start-up warm-up compiled them; performance.now() does not advance inside workerd).
async function coldStart(name) {
  // The handler Worker is sent the signed delivery; the others read their request from the script.
  const signed = name === "handler" || name === "inbox" || name === "bare_body";
  const delivery = () => (signed ? { method: "POST", headers: payload.request.headers, body: payload.request.body } : { method: "POST" });
  const options = workerOptions(dir, `${name}-worker.mjs`);
  const t0 = performance.now();
  const mf = new Miniflare(options);
  await mf.ready;
  const ready = performance.now();
  const response = await mf.dispatchFetch("https://bench.test/", delivery());
  const text = await response.text();
  const answered = performance.now();
  await (await mf.dispatchFetch("https://bench.test/", delivery())).text();
  const second = performance.now() - answered;
  await mf.dispose();
  if (name === "telhook" && !text.startsWith("limephone:")) throw new Error(`workerd answered ${text}`);
  if (name === "bare_body" && text !== String(new TextEncoder().encode(payload.request.body).length)) throw new Error(`bare_body Worker answered ${text}`);
  if (name === "module" && text !== "true") throw new Error(`module Worker answered ${text}`);
  if (name === "handler" && (response.status !== 200 || !text.includes("accepted"))) throw new Error(`handler Worker answered ${response.status} ${text}`);
  if (name === "inbox" && (response.status !== 200 || !text.includes("queued"))) throw new Error(`inbox Worker answered ${response.status} ${text}`);
  const provider = name.startsWith("provider-") ? name.slice("provider-".length) : null;
  if (provider !== null && !text.startsWith(`${provider}:`)) throw new Error(`${name}: workerd answered ${text}`);
  return { cold: answered - t0, first: answered - ready, second };
}
const cold = { telhook: [], handler: [], inbox: [], bare: [], bare_body: [], module: [] };
const COLD_STARTS = 16;
for (let i = 0; i < COLD_STARTS; i++) {
  for (const name of ["bare", "bare_body", "module", "telhook", "handler", "inbox"]) cold[name].push(await coldStart(name));
}
const least = (runs, key) => Math.min(...runs.map((r) => r[key]));
results.workerd_bare_cold_start_ms = least(cold.bare, "cold");
results.workerd_bare_first_request_ms = least(cold.bare, "first");
results.workerd_bare_body_cold_start_ms = least(cold.bare_body, "cold");
results.workerd_bare_body_first_request_ms = least(cold.bare_body, "first");
/**
 * A Worker's least cold start, first and second request, and what it adds to its empty Worker's
 * (`bare` or `bare_body`: the one sent the same request), under `workerd_<prefix>`.
 */
function recordWorker(prefix, runs, bare = "bare") {
  const key = (name) => `workerd_${prefix}${name}`;
  results[key("cold_start_ms")] = least(runs, "cold");
  results[key("added_ms")] = results[key("cold_start_ms")] - results[`workerd_${bare}_cold_start_ms`];
  results[key("first_request_ms")] = least(runs, "first");
  results[key("second_request_ms")] = least(runs, "second");
  results[key("first_request_added_ms")] = results[key("first_request_ms")] - results[`workerd_${bare}_first_request_ms`];
}
recordWorker("", cold.telhook);
recordWorker("module_", cold.module);
recordWorker("handler_", cold.handler, "bare_body");
recordWorker("inbox_", cold.inbox, "bare_body");
// Each provider's first request after a cold start, over the empty Worker's (minimum of 6). The
// providers take turns, as the Workers above do: run six at a time, one provider's starts all
// fell in the same busy seconds once (Telnyx +6.6 ms in a `make bench` run, +3.0 ms when run
// again a minute later).
const providerRuns = Object.fromEntries(providers.map(({ provider }) => [provider, []]));
for (let i = 0; i < 6; i++) {
  for (const { provider } of providers) providerRuns[provider].push(await coldStart(`provider-${provider}`));
}
results.workerd_first_request_added_by_provider_ms = {};
for (const { provider } of providers) {
  results.workerd_first_request_added_by_provider_ms[provider] =
    least(providerRuns[provider], "first") - results.workerd_bare_first_request_ms;
}

mkdirSync(here("../../target/bench"), { recursive: true });
writeFileSync(here("../../target/bench/startup.json"), JSON.stringify(results, null, 2));
console.error("startup: written target/bench/startup.json", JSON.stringify(results));
