// The published artifact, tried where users are: the packed tarball installed into a scratch
// project, then imported (ESM, CJS, one shared instance), bundled by esbuild into a Node app,
// run in Vercel's edge-runtime, Bun and Deno, and type-checked over the tsc options matrix.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, mkdirSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { runInContext } from "node:vm";
import { gzipSync } from "node:zlib";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { EdgeRuntime } from "edge-runtime";
import { Miniflare } from "miniflare";
import { loadVectors } from "./load-vectors.mjs";
import { CONSUMER_PROBE, consumedIds, miniflareBindings, tomlAfter, wranglerProblems } from "./wrangler-toml.mjs";
import { freePort, waitForPort } from "./ports.mjs";

const PACKAGE_DIR = fileURLToPath(new URL("..", import.meta.url));
// The npm page's examples, by the name in the `<!-- example: NAME -->` line above each.
const README_EXAMPLES = Object.fromEntries(
  [...readFileSync(join(PACKAGE_DIR, "README.md"), "utf8").matchAll(/<!-- example: ([\w-]+) -->\n```js\n([\s\S]*?)```/g)].map(
    (match) => [match[1], match[2]],
  ),
);
// The npm page's wrangler.toml (`<!-- example: wrangler -->`), which the Worker examples run with.
const README_WRANGLER = tomlAfter(readFileSync(join(PACKAGE_DIR, "README.md"), "utf8"), "<!-- example: wrangler -->");
const BIN = join(PACKAGE_DIR, "node_modules", ".bin");
const vectors = loadVectors();
const limephone = vectors.find((v) => v.name === "limephone/doc_sms_sent.json").vector;

// Runs in every host: a policy, a typed error, an event, and the instance check when the host
// has both module systems (`req` is require or null).
const SMOKE = `
  const policy = t.retryPolicy("limephone");
  if (policy.retry_delays_secs.join() !== "60,300,900,1800") throw new Error("bad policy");
  let error;
  try { t.normalizeEvent("lisoloo", { body: "{}" }, null); } catch (e) { error = e; }
  if (error.code !== "missing_credentials" || !(error instanceof t.ConfigurationError)) throw new Error("bad error");
  const event = t.normalizeEvent(null, { headers: { "User-Agent": "LoopServer" },
    body: '{"contact":"+13231112233","request_id":"r","webhook_id":"w"}' },
    { insecure_skip_verification: true }, { now: 1769000000 });
  if (event.id !== "looplookup:w") throw new Error("bad event " + event.id);
  if (req) {
    const c = req("telhook");
    if (c.TelhookError !== t.TelhookError || !(error instanceof c.TelhookError)) throw new Error("two instances");
  }
  console.log("ok");
`;
const ESM_SMOKE = `import * as t from "telhook"; import { createRequire } from "node:module";
  const req = createRequire(import.meta.url); ${SMOKE}`;
const CJS_SMOKE = `const t = require("telhook"); const req = require; ${SMOKE}`;

let scratch;
let tarball;

function run(command, args, cwd, env = {}) {
  return execFileSync(command, args, { cwd, encoding: "utf8", env: { ...process.env, ...env } }).trim();
}

before(() => {
  scratch = mkdtempSync(join(tmpdir(), "telhook-pack-"));
  // `npm pack` runs prepack (make -C .. npm), so this is exactly what `npm publish` would ship.
  const packed = run("npm", ["pack", "--silent", "--pack-destination", scratch], PACKAGE_DIR).split("\n").pop();
  tarball = join(scratch, packed);
  const app = join(scratch, "app");
  mkdirSync(app);
  writeFileSync(join(app, "package.json"), JSON.stringify({ name: "scratch", private: true, type: "module" }));
  execFileSync("npm", ["install", "--no-audit", "--no-fund", "--offline", tarball], { cwd: app, stdio: "ignore" });
  // Tools the scratch project borrows from the package's own devDependencies.
  for (const name of ["@cloudflare", "@types", "typescript"]) {
    symlinkSync(join(PACKAGE_DIR, "node_modules", name), join(app, "node_modules", name));
  }
  scratch = app;
});

after(() => {
  if (scratch) rmSync(join(scratch, ".."), { recursive: true, force: true });
});

test("the tarball holds the npm README, LICENSE, every entry, the wasm and the types, and nothing else", () => {
  const files = run("tar", ["-tzf", tarball], scratch)
    .split("\n")
    .map((f) => f.replace(/^package\//, ""))
    .sort();
  assert.deepStrictEqual(files, [
    "LICENSE",
    "README.md",
    "dist/edge-light.mjs",
    "dist/node-bundler.mjs",
    "dist/node-wasm.cjs",
    "dist/node.cjs",
    "dist/node.mjs",
    "dist/portable.mjs",
    "dist/telhook_wasm_bg.wasm",
    "dist/telhook_wasm_kit_bg.wasm",
    "dist/testing.cjs",
    "dist/testing.mjs",
    "dist/workerd.mjs",
    "package.json",
    "types/index.d.cts",
    "types/index.d.ts",
    "types/testing.d.cts",
    "types/testing.d.ts",
  ]);
  const manifest = JSON.parse(readFileSync(join(scratch, "node_modules", "telhook", "package.json"), "utf8"));
  assert.equal(manifest.engines.node, ">=18");
  assert.equal(manifest.repository.directory, "npm");
  const readme = readFileSync(join(scratch, "node_modules", "telhook", "README.md"), "utf8");
  assert.match(readme, /^# telhook/);
});

test("the module a receiver loads stays within its gzip budget and holds no test kit", async () => {
  const budget = JSON.parse(readFileSync(join(PACKAGE_DIR, "wasm-budget.json"), "utf8"));
  const dist = join(scratch, "node_modules", "telhook", "dist");
  const wasm = readFileSync(join(dist, budget.module));
  const gzipped = gzipSync(wasm, { level: 9 }).length;
  assert.ok(
    gzipped <= budget.gzip_budget_bytes,
    `${budget.module}: ${gzipped} B gzipped, over its budget of ${budget.gzip_budget_bytes} B (npm/wasm-budget.json)`,
  );
  // The signing and sample entry points, typed payloads and HTTP captures live in the kit's module only.
  const glue = await import("../wasm/telhook_wasm.js");
  glue.initSync({ module: wasm });
  const body = new TextEncoder().encode('{"event_id":"e","event_type":"sms.sent"}');
  const capture = new TextEncoder().encode("POST / HTTP/1.1\r\n\r\n{}");
  for (const [name, args, bytes] of [["event_kinds", '["limephone"]', new Uint8Array(0)], ["parse", '["lisoloo"]', body], ["parse_http_capture", "[]", capture]]) {
    assert.throws(() => glue.call(name, args, bytes), /no entry point of that name/, name);
  }
  assert.match(glue.call("retry_policy", '["limephone"]', new Uint8Array(0)), /retry_delays_secs/);
  const kit = await import("../wasm/telhook_wasm_kit.js");
  kit.initSync({ module: readFileSync(join(dist, "telhook_wasm_kit_bg.wasm")) });
  assert.match(kit.call("event_kinds", '["limephone"]', new Uint8Array(0)), /^\[/);
  assert.match(kit.call("parse", '["lisoloo"]', body), /"event_id":"e"/);
  assert.match(kit.call("parse_http_capture", "[]", capture), /"method":"POST"/);
});

test("import and require of the installed package give one instance (instanceof works across them)", () => {
  assert.equal(run(process.execPath, ["--input-type=module", "-e", ESM_SMOKE], scratch), "ok");
  assert.equal(run(process.execPath, ["--input-type=commonjs", "-e", CJS_SMOKE], scratch), "ok");
  // telhook/testing finds its own module (telhook_wasm_kit_bg.wasm) in the installed package.
  const kitSmoke = (load) => `${load}; const t = ${load.includes("require") ? 'require("telhook")' : "await import(\"telhook\")"};
    const r = k.signedRequest("limephone", { credentials: { hmac_sha256: ["s"] }, now: 1769000000 });
    const event = t.normalizeEvent("limephone", r, { hmac_sha256: ["s"] }, { now: 1769000000 });
    console.log(event.provider);`;
  assert.equal(run(process.execPath, ["--input-type=module", "-e", kitSmoke('const k = await import("telhook/testing")')], scratch), "limephone");
  assert.equal(run(process.execPath, ["--input-type=commonjs", "-e", kitSmoke('const k = require("telhook/testing")')], scratch), "limephone");
});

const LIME_ENV = { LIME_SECRET: limephone.credentials.hmac_sha256[0], LIME_TOKEN: limephone.credentials.bearer };
const FORGED_HEADERS = { ...limephone.request.headers, "X-LimePhone-Signature": "ab".repeat(32) };

/** Starts `node file`, POSTs the signed vector (and a forgery), returns statuses and output. */
async function serveSigned(file, cwd) {
  const port = await freePort();
  const child = spawn(process.execPath, [file], { cwd, env: { ...process.env, ...LIME_ENV, PORT: String(port) } });
  let output = "";
  child.stdout.on("data", (chunk) => (output += chunk));
  child.stderr.on("data", (chunk) => (output += chunk));
  try {
    await waitForPort(port, child, () => output);
    const post = (headers) =>
      fetch(`http://127.0.0.1:${port}/hooks/limephone`, { method: "POST", headers, body: limephone.request.body });
    const signed = await post(limephone.request.headers);
    const bad = await post(FORGED_HEADERS);
    return { signed: signed.status, forged: bad.status, forgedBody: await bad.json(), output };
  } finally {
    child.kill("SIGTERM");
  }
}

test("the README's one-request example prints the event", () => {
  const prelude = `const req = { headers: ${JSON.stringify(limephone.request.headers)} };
    const rawBody = Buffer.from(${JSON.stringify(limephone.request.body)});`;
  writeFileSync(join(scratch, "one-request.mjs"), README_EXAMPLES["one-request"].replace(/^(import .*\n)/, `$1${prelude}\n`));
  assert.equal(run(process.execPath, ["one-request.mjs"], scratch, LIME_ENV), "message.sent limephone:sms_sent:234567");
  assert.equal(run(process.execPath, ["one-request.mjs"], scratch, { ...LIME_ENV, LIME_TOKEN: "wrong" }), "authorization_mismatch");
});

test("esbuild bundles the README's Node app (ESM and CJS); it serves a signed request from a folder without node_modules", async () => {
  writeFileSync(join(scratch, "server.mjs"), README_EXAMPLES.node);
  for (const format of ["esm", "cjs"]) {
    const out = mkdtempSync(join(tmpdir(), `telhook-bundle-${format}-`));
    const outfile = join(out, format === "esm" ? "server.mjs" : "server.cjs");
    const result = await build({
      entryPoints: [join(scratch, "server.mjs")],
      absWorkingDir: scratch,
      bundle: true,
      platform: "node",
      format,
      outfile,
      metafile: true,
      logLevel: "silent",
    });
    // Only the bundle is copied out: no .wasm file beside it, no node_modules above it.
    assert.deepStrictEqual(readdirSync(out), [outfile.split("/").pop()]);
    assert.ok(Object.keys(result.metafile.inputs).some((input) => input.includes("telhook/dist/node.")));
    // No .wasm beside the bundle: the bytes came in through node.cjs's static require.
    assert.ok(Object.keys(result.metafile.inputs).some((input) => input.includes("telhook/dist/node-wasm.cjs")));
    const served = await serveSigned(outfile, out);
    assert.equal(served.signed, 200, served.output);
    assert.match(served.output, /^event limephone:sms_sent:234567$/m);
    assert.equal(served.forged, 401);
    assert.deepStrictEqual(served.forgedBody, { error: "signature_mismatch" });
    rmSync(out, { recursive: true, force: true });
  }
});

test("the README's Next.js edge route bundles for edge-light without node: modules and serves signed requests in edge-runtime", async () => {
  writeFileSync(join(scratch, "route.mjs"), README_EXAMPLES.edge);
  // What Vercel's runtime does with a route: call its POST export for each request.
  writeFileSync(join(scratch, "edge-entry.mjs"), `import { POST } from "./route.mjs";
    self.addEventListener("fetch", (event) => event.respondWith(POST(event.request)));`);
  const result = await build({
    entryPoints: [join(scratch, "edge-entry.mjs")],
    absWorkingDir: scratch,
    bundle: true,
    write: false,
    format: "iife",
    platform: "neutral",
    conditions: ["edge-light"],
    metafile: true,
    logLevel: "silent",
    plugins: [
      {
        // What Next.js does for Vercel Edge: a `.wasm?module` import becomes a precompiled
        // WebAssembly.Module that the runtime provides as a global binding.
        name: "next-edge-wasm",
        setup(b) {
          b.onResolve({ filter: /\.wasm\?module$/ }, () => ({ path: "telhook-wasm", namespace: "edge-wasm" }));
          b.onLoad({ filter: /.*/, namespace: "edge-wasm" }, () => ({ contents: "export default globalThis.wasm_telhook;" }));
        },
      },
    ],
  });
  const inputs = Object.keys(result.metafile.inputs);
  assert.ok(inputs.some((input) => input.endsWith("telhook/dist/edge-light.mjs")), inputs.join());
  const code = result.outputFiles[0].text;
  assert.doesNotMatch(code, /\bnode:|require\(|readFileSync|process\.versions/);
  const wasmBytes = readFileSync(join(scratch, "node_modules", "telhook", "dist", "telhook_wasm_bg.wasm"));
  const compilers = {
    // Compiled by the host in the runtime's own realm, as Vercel does at deploy time.
    "the runtime's realm": (context) => new (runInContext("WebAssembly.Module", context))(wasmBytes),
    // Compiled in Node's realm and handed in, as Next.js's sandbox does in `next dev` and while
    // `next build` collects a route's data: another realm's WebAssembly.Module (a review: every
    // route importing telhook threw at import before npm/scripts/patch-glue.mjs's module check).
    "Node's realm": () => new WebAssembly.Module(wasmBytes),
  };
  for (const [realm, compile] of Object.entries(compilers)) {
    const logged = [];
    const runtime = new EdgeRuntime({
      initialCode: code,
      extend: (context) =>
        Object.assign(context, {
          wasm_telhook: compile(context),
          process: { env: LIME_ENV }, // Next.js inlines process.env.* at build time
          console: { ...context.console, log: (...values) => logged.push(values.join(" ")) },
        }),
    });
    const deliver = (headers) =>
      runtime.dispatchFetch("https://edge.test/api/hooks/limephone", { method: "POST", headers, body: limephone.request.body });
    const signed = await deliver(limephone.request.headers);
    assert.equal(signed.status, 200, realm);
    const bad = await deliver(FORGED_HEADERS);
    assert.equal(bad.status, 401, realm);
    assert.deepStrictEqual(await bad.json(), { error: "signature_mismatch" }, realm);
    assert.deepStrictEqual(logged, ["event limephone:sms_sent:234567"], realm);
  }
});

/** A README example bundled as wrangler would, run in workerd with the bindings of the README's
 * wrangler.toml: the signed delivery, its redelivery, a forgery, and the example's own Queue
 * consumer taking the event. */
async function runWorkerExample(name) {
  mkdirSync(join(scratch, name), { recursive: true });
  writeFileSync(join(scratch, name, "example.mjs"), README_EXAMPLES[name]);
  writeFileSync(join(scratch, name, "probe.mjs"), CONSUMER_PROBE);
  const out = mkdtempSync(join(tmpdir(), `telhook-readme-${name}-`));
  await build({
    entryPoints: [join(scratch, name, "probe.mjs")],
    absWorkingDir: scratch,
    outfile: join(out, "worker.mjs"),
    bundle: true,
    format: "esm",
    platform: "neutral",
    conditions: ["workerd", "worker"],
    logLevel: "silent",
    plugins: [
      {
        name: "wasm-modules", // wrangler uploads an imported .wasm as a module of its own
        setup(b) {
          b.onResolve({ filter: /\.wasm$/ }, (args) => ({ path: `./${args.path.split("/").pop()}`, external: true }));
        },
      },
    ],
  });
  writeFileSync(
    join(out, "telhook_wasm_bg.wasm"),
    readFileSync(join(scratch, "node_modules", "telhook", "dist", "telhook_wasm_bg.wasm")),
  );
  const mf = new Miniflare({
    modules: true,
    scriptPath: join(out, "worker.mjs"),
    modulesRoot: out,
    modulesRules: [{ type: "CompiledWasm", include: ["**/*.wasm"] }],
    compatibilityDate: README_WRANGLER.compatibility_date,
    bindings: LIME_ENV,
    ...miniflareBindings(README_WRANGLER),
  });
  try {
    const deliver = (headers) =>
      mf.dispatchFetch("https://worker.test/hooks/limephone", { method: "POST", headers, body: limephone.request.body });
    const first = await deliver(limephone.request.headers);
    assert.equal(first.status, 200);
    assert.deepStrictEqual(await first.json(), { outcome: "accepted" });
    const again = await deliver(limephone.request.headers); // the provider's redelivery
    assert.equal(again.status, 200);
    assert.deepStrictEqual(await again.json(), { outcome: "duplicate" });
    assert.equal((await deliver(FORGED_HEADERS)).status, 401);
    assert.deepStrictEqual(await consumedIds(mf, 1), ["limephone:sms_sent:234567"], "the example's queue() took the event");
  } finally {
    await mf.dispose();
    rmSync(out, { recursive: true, force: true });
  }
}

test("the README's wrangler.toml: a migration for every Durable Object class it binds, a consumer for every Queue", () => {
  assert.deepStrictEqual(miniflareBindings(README_WRANGLER).durableObjects, { TELHOOK_DEDUPE: "TelhookDedupeObject" });
  assert.deepStrictEqual(Object.keys(miniflareBindings(README_WRANGLER).queueProducers), ["EVENTS"]);
  assert.deepStrictEqual(wranglerProblems(README_WRANGLER), []);
});

test("the README's Worker, bundled as wrangler would, dedupes in a Durable Object and sends to a Queue in workerd", async () => {
  await runWorkerExample("worker");
});

test("the README's Hono app on Workers (no process.env, no memoryStore): the same in workerd", async () => {
  symlinkSync(join(PACKAGE_DIR, "node_modules", "hono"), join(scratch, "node_modules", "hono"));
  await runWorkerExample("hono");
});

test("Bun runs the installed package: import, require and one instance", () => {
  const bun = join(BIN, "bun");
  writeFileSync(join(scratch, "smoke-bun.mjs"), ESM_SMOKE);
  writeFileSync(join(scratch, "smoke-bun.cjs"), CJS_SMOKE);
  assert.equal(run(bun, ["smoke-bun.mjs"], scratch, { BUN_INSTALL_CACHE_DIR: join(scratch, ".bun") }), "ok");
  assert.equal(run(bun, ["smoke-bun.cjs"], scratch, { BUN_INSTALL_CACHE_DIR: join(scratch, ".bun") }), "ok");
});

test("Deno runs the installed package through its deno export, with no permission but reading it", () => {
  writeFileSync(join(scratch, "smoke-deno.mjs"), `import * as t from "telhook"; const req = null; ${SMOKE}`);
  const deno = join(BIN, "deno");
  const env = { DENO_DIR: join(scratch, ".deno"), DENO_NO_UPDATE_CHECK: "1" };
  assert.equal(run(deno, ["run", "--no-remote", "--allow-read=.", "smoke-deno.mjs"], scratch, env), "ok");
  const info = run(deno, ["info", "--json", "smoke-deno.mjs"], scratch, env);
  assert.match(info, /telhook\/dist\/portable\.mjs/);
});

const STRICT = {
  strict: true,
  exactOptionalPropertyTypes: true,
  noUncheckedIndexedAccess: true,
  noEmit: true,
  target: "es2022",
  lib: ["es2022"],
  types: [],
  skipLibCheck: false,
};

test("tsc passes over strict + exactOptionalPropertyTypes + noUncheckedIndexedAccess, lib es2022 only, for node16, nodenext and bundler", () => {
  const typesDir = fileURLToPath(new URL("./types/", import.meta.url));
  for (const file of readdirSync(typesDir)) writeFileSync(join(scratch, file), readFileSync(join(typesDir, file)));
  const tsc = join(scratch, "node_modules", "typescript", "bin", "tsc");
  const matrix = [
    { module: "node16", moduleResolution: "node16", files: ["esm-usage.ts", "cjs-usage.cts"] },
    { module: "nodenext", moduleResolution: "nodenext", files: ["esm-usage.ts", "cjs-usage.cts"] },
    { module: "esnext", moduleResolution: "bundler", files: ["esm-usage.ts"] },
    // A Worker typed by @cloudflare/workers-types (which brings its own Request/Response).
    { module: "esnext", moduleResolution: "bundler", files: ["worker-usage.ts"], types: ["@cloudflare/workers-types"] },
  ];
  for (const { files, ...options } of matrix) {
    const config = join(scratch, "tsconfig.json");
    writeFileSync(config, JSON.stringify({ compilerOptions: { ...STRICT, ...options }, files }));
    try {
      execFileSync(process.execPath, [tsc, "-p", config], { cwd: scratch, encoding: "utf8" });
    } catch (error) {
      assert.fail(`tsc ${JSON.stringify(options)} ${files}:\n${error.stdout}`);
    }
  }
});
