// Every code block of README.md, npm/README.md and python/README.md, accounted for (issue 24):
// each JavaScript or TypeScript block is type-checked here as written, extracted from the README
// (strict, exactOptionalPropertyTypes, noUncheckedIndexedAccess, lib es2022 only; JS through
// allowJs + checkJs), and each JS, TS, Python, Rust and shell block is run by a named test — the
// TypeScript ones and the CLI block here, the others by the tests listed in RUNNERS below (the
// shell blocks that are not run are listed in NOT_RUN, with the reason).
//
// A JS/TS block carries `<!-- typecheck: KIND -->` among the comment lines right above it:
//   node   — with @types/node (nodenext: .mjs/.ts, and .cts for TypeScript)
//   plain  — no types beyond lib es2022 (nodenext .mjs/.ts/.cts, bundler, and with workers-types)
//   worker — with @cloudflare/workers-types (bundler), `Env` as `wrangler types` writes it
// A fragment says which names it is given and why: `<!-- typecheck: node; given: req, rawBody
// (reason) -->`; each given name has a type in GIVEN. A JS/TS block without a kind fails.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { build, transform } from "esbuild";
import { Miniflare } from "miniflare";
import { retryOnReset } from "./miniflare-retry.mjs";
import { CONSUMER_PROBE, consumedIds, miniflareBindings, parseToml, tomlAfter } from "./wrangler-toml.mjs";
import { freePort } from "./ports.mjs";

const REPO = fileURLToPath(new URL("../../", import.meta.url));
const PACKAGE_DIR = join(REPO, "npm");
const READMES = ["README.md", "npm/README.md", "python/README.md"];
const JS = new Set(["js", "javascript", "mjs", "cjs", "jsx"]);
const TS = new Set(["ts", "typescript", "mts", "cts", "tsx"]);
// Inside the package, so that "telhook" resolves to it by self-reference (its exports and types,
// as installed) and bullmq, hono and express from its devDependencies.
const scratch = mkdtempSync(join(PACKAGE_DIR, "test", ".readme-snippets-"));
after(() => rmSync(scratch, { recursive: true, force: true }));

/** Every fenced block of a README: its language, line, the comment lines right above it, code. */
function fencedBlocks(readme) {
  const lines = readFileSync(join(REPO, readme), "utf8").split("\n");
  const blocks = [];
  for (let i = 0; i < lines.length; i += 1) {
    const open = lines[i].match(/^```(\S*)\s*$/);
    if (!open) continue;
    const end = lines.indexOf("```", i + 1);
    assert.ok(end > i, `${readme}:${i + 1}: an unclosed code block`);
    const markers = [];
    for (let j = i - 1; j >= 0 && /^<!-- .* -->$/.test(lines[j]); j -= 1) markers.unshift(lines[j]);
    blocks.push({ readme, line: i + 1, lang: open[1], markers, code: lines.slice(i + 1, end).join("\n") + "\n" });
    i = end;
  }
  return blocks;
}

const BLOCKS = READMES.flatMap(fencedBlocks);
const where = (block) => `${block.readme}:${block.line}`;
const isScript = (block) => JS.has(block.lang) || TS.has(block.lang);

/** The types of the names a fragment is given. */
const GIVEN = {
  req: 'import("node:http").IncomingMessage',
  rawBody: "Buffer",
  credentials: 'import("telhook").Credentials',
  handler: 'ReturnType<typeof import("telhook").createHandler>',
};

function typecheckKind(block) {
  const markers = block.markers.filter((m) => m.startsWith("<!-- typecheck:"));
  if (markers.length !== 1) return null;
  const match = markers[0].match(/^<!-- typecheck: (node|plain|worker)(?:; given: ([\w, ]+) \((.+)\))? -->$/);
  assert.ok(match, `${where(block)}: unreadable ${markers[0]}`);
  const given = match[2] ? match[2].split(",").map((name) => name.trim()) : [];
  for (const name of given) assert.ok(GIVEN[name], `${where(block)}: no type for the given name ${name}`);
  return { kind: match[1], given, reason: match[3] ?? null };
}

const SCRIPTS = BLOCKS.filter(isScript).map((block) => ({ ...block, ts: TS.has(block.lang), check: typecheckKind(block) }));

test("every JavaScript and TypeScript block of the READMEs has a typecheck kind (node, plain or worker)", () => {
  const missing = SCRIPTS.filter((block) => !block.check).map(where);
  assert.deepStrictEqual(missing, [], "a JS/TS block without <!-- typecheck: node|plain|worker --> above it");
  const kinds = new Set(SCRIPTS.map((block) => block.check.kind));
  assert.deepStrictEqual([...kinds].sort(), ["node", "plain", "worker"]);
});

const STRICT = {
  strict: true,
  exactOptionalPropertyTypes: true,
  noUncheckedIndexedAccess: true,
  noEmit: true,
  target: "es2022",
  lib: ["es2022"],
  skipLibCheck: false,
  allowJs: true,
  checkJs: true,
};

// What `wrangler types` writes for the READMEs' Workers: their wrangler.toml files' bindings (a
// binding a Worker example uses must be declared there) and the secrets they read.
const SECRETS = ["LISOLOO_USER", "LISOLOO_PASSWORD", "LIME_SECRET", "LIME_TOKEN"];
function workerEnv() {
  const bindings = {};
  for (const block of BLOCKS.filter((b) => b.lang === "toml" && b.code.startsWith("# wrangler.toml"))) {
    const { durableObjects, queueProducers, r2Buckets } = miniflareBindings(parseToml(block.code));
    // As current `wrangler types` writes them: the namespace typed by the class the Worker exports.
    for (const [name, className] of Object.entries(durableObjects)) bindings[name] = `DurableObjectNamespace<import("telhook").${className}>`;
    for (const name of Object.keys(queueProducers)) bindings[name] = "Queue";
    for (const name of r2Buckets) bindings[name] = "R2Bucket";
  }
  for (const name of SECRETS) bindings[name] = "string";
  return `interface Env {\n${Object.entries(bindings).map(([name, type]) => `  ${name}: ${type};`).join("\n")}\n}\n`;
}
// express 5 ships no types and @types/express is not among the devDependencies: its import is
// untyped (the telhook middleware handed to it is still checked).
const EXPRESS_SHIM = 'declare module "express";\n';

/** A fragment's given names, declared ahead of its code (JS: JSDoc, TS: declare). */
function prelude({ ts, check }) {
  return check.given
    .map((name) => (ts ? `declare const ${name}: ${GIVEN[name]};` : `/** @type {${GIVEN[name]}} */ const ${name} = /** @type {any} */ (undefined);`))
    .join(" ");
}

test("every JS/TS block of the READMEs compiles as written: strict, exactOptionalPropertyTypes, lib es2022, ESM and CommonJS, with and without workers-types", () => {
  const tsc = join(PACKAGE_DIR, "node_modules", "typescript", "bin", "tsc");
  const dir = join(scratch, "tsc");
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "worker-configuration.d.ts"), workerEnv());
  writeFileSync(join(dir, "express-shim.d.ts"), EXPRESS_SHIM);
  const files = {};
  for (const [index, block] of SCRIPTS.entries()) {
    const name = `${block.readme.replace(/\W/g, "_")}_${block.line}`;
    const code = (block.check.given.length ? prelude(block) + "\n" : "") + block.code;
    // TypeScript as an ES module and as CommonJS; JavaScript as the ES module it is written as.
    const extensions = block.ts ? [".ts", ".cts"] : [".mjs"];
    for (const extension of extensions) writeFileSync(join(dir, name + extension), code);
    (files[block.check.kind] ??= []).push(...extensions.map((extension) => ({ file: name + extension, index })));
  }
  const list = (kind, filter = () => true) => (files[kind] ?? []).filter(({ file }) => filter(file)).map(({ file }) => file);
  const esm = (file) => !file.endsWith(".cts");
  const matrix = [
    { module: "nodenext", moduleResolution: "nodenext", types: ["node"], files: [...list("node"), "express-shim.d.ts"] },
    { module: "nodenext", moduleResolution: "nodenext", types: [], files: list("plain") },
    { module: "esnext", moduleResolution: "bundler", types: [], files: list("plain", esm) },
    {
      module: "esnext",
      moduleResolution: "bundler",
      types: ["@cloudflare/workers-types"],
      files: [...list("worker"), ...list("plain", esm), "worker-configuration.d.ts"],
    },
  ];
  const failures = [];
  for (const { files: names, ...options } of matrix) {
    const config = join(dir, "tsconfig.json");
    writeFileSync(config, JSON.stringify({ compilerOptions: { ...STRICT, ...options }, files: names }));
    try {
      execFileSync(process.execPath, [tsc, "-p", config], { cwd: dir, encoding: "utf8" });
    } catch (error) {
      failures.push(`tsc ${JSON.stringify(options)}:\n${error.stdout}`);
    }
  }
  assert.deepStrictEqual(failures, [], "files are named README_line (the block's opening fence)");
});

// ---------------------------------------------------------------- the TypeScript blocks, run

const vector = (name) => JSON.parse(readFileSync(join(REPO, "tests", "vectors", name), "utf8"));
const limephone = vector("limephone/doc_sms_sent.json");
const LIME_ENV = { LIME_SECRET: limephone.credentials.hmac_sha256[0], LIME_TOKEN: limephone.credentials.bearer };
const TS_BLOCKS = SCRIPTS.filter((block) => block.ts);

/** A TypeScript block as the JavaScript a TypeScript compiler or bundler makes of it. */
async function stripped(block) {
  return (await transform(block.code, { loader: "ts", format: "esm", target: "es2022" })).code;
}

const answer = async (response) => `${response.status} ${JSON.stringify(await response.json())}`;

async function runNodeServer(file, env) {
  const port = await freePort();
  const child = spawn(process.execPath, [file], { env: { ...process.env, ...env, PORT: String(port) }, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout.on("data", (chunk) => (output += chunk));
  child.stderr.on("data", (chunk) => (output += chunk));
  const post = () =>
    fetch(`http://127.0.0.1:${port}/`, { method: "POST", headers: limephone.request.headers, body: limephone.request.body }).then(answer);
  try {
    let first = null;
    for (let attempt = 0; attempt < 200 && first === null && child.exitCode === null; attempt += 1) {
      first = await post().catch(() => null);
      if (first === null) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return { first, again: await post(), output: () => output };
  } finally {
    child.kill();
  }
}

for (const block of TS_BLOCKS) {
  const { kind } = block.check;
  test(`${where(block)} (TypeScript, ${kind}) runs as written`, async () => {
    const dir = mkdtempSync(join(scratch, "run-"));
    const code = await stripped(block);
    if (kind === "node") {
      writeFileSync(join(dir, "example.mjs"), code);
      const served = await runNodeServer(join(dir, "example.mjs"), LIME_ENV);
      assert.equal(served.first, '200 {"outcome":"accepted"}', served.output());
      assert.equal(served.again, '200 {"outcome":"duplicate"}');
      assert.equal(served.output().trim(), "message.sent limephone:sms_sent:234567");
      // Unset secrets stop it before it serves anything.
      assert.throws(
        () => execFileSync(process.execPath, [join(dir, "example.mjs")], { env: { PATH: process.env.PATH }, stdio: "pipe" }),
        /LIME_SECRET and LIME_TOKEN must be set/,
      );
    } else if (kind === "plain") {
      writeFileSync(join(dir, "example.mjs"), code);
      execFileSync(process.execPath, [join(dir, "example.mjs")], { encoding: "utf8" }); // throws unless it passes
    } else {
      await runWorker(dir, code, block);
    }
  });
}

/** A Worker block bundled as wrangler would, in workerd with the bindings of the wrangler.toml
 * of its README: the delivery accepted, its redelivery a duplicate, its queue() takes the event. */
async function runWorker(dir, code, block) {
  const wrangler = tomlAfter(readFileSync(join(REPO, block.readme), "utf8"), "<!-- example: wrangler -->");
  writeFileSync(join(dir, "example.mjs"), code);
  writeFileSync(join(dir, "probe.mjs"), CONSUMER_PROBE);
  await build({
    entryPoints: [join(dir, "probe.mjs")],
    outfile: join(dir, "out", "worker.mjs"),
    bundle: true,
    format: "esm",
    platform: "neutral",
    conditions: ["workerd", "worker"],
    logLevel: "warning",
    plugins: [{ name: "wasm", setup: (b) => b.onResolve({ filter: /\.wasm$/ }, (a) => ({ path: `./${a.path.split("/").pop()}`, external: true })) }],
  });
  writeFileSync(join(dir, "out", "telhook_wasm_bg.wasm"), readFileSync(join(PACKAGE_DIR, "dist", "telhook_wasm_bg.wasm")));
  const mf = new Miniflare({
    modules: true,
    scriptPath: join(dir, "out", "worker.mjs"),
    modulesRoot: join(dir, "out"),
    modulesRules: [{ type: "CompiledWasm", include: ["**/*.wasm"] }],
    compatibilityDate: wrangler.compatibility_date,
    bindings: LIME_ENV,
    ...miniflareBindings(wrangler),
  });
  try {
    const send = () =>
      retryOnReset(() =>
        mf.dispatchFetch("https://worker.test/hooks/limephone", { method: "POST", headers: limephone.request.headers, body: limephone.request.body }),
      ).then(answer);
    assert.equal(await send(), '200 {"outcome":"accepted"}');
    assert.equal(await send(), '200 {"outcome":"duplicate"}');
    const consumed = await consumedIds(mf, 1, (url) => retryOnReset(() => mf.dispatchFetch(url)));
    assert.deepStrictEqual(consumed, ["limephone:sms_sent:234567"], "the example's queue() took the event");
  } finally {
    await mf.dispose();
  }
}

// ----------------------------------------------------------------------- the CLI block, run

const CLI_BLOCK = BLOCKS.filter((block) => block.lang === "sh" && block.code.includes("telhook detect"));

test("README.md's CLI block runs as written, line by line, on a Lisoloo capture, JSON request and vector", () => {
  assert.equal(CLI_BLOCK.length, 1);
  const dir = mkdtempSync(join(scratch, "cli-"));
  const delivery = vector("lisoloo/sms_sent.json");
  writeFileSync(join(dir, "creds.json"), JSON.stringify({ lisoloo: delivery.credentials })); // per provider
  writeFileSync(join(dir, "capture.http"), readFileSync(join(REPO, "examples", "lisoloo", "02_sms_sent.http")));
  writeFileSync(join(dir, "request.json"), JSON.stringify(delivery.request));
  writeFileSync(join(dir, "vector.json"), JSON.stringify(delivery));
  const bin = join(REPO, "target", "debug");
  assert.ok(existsSync(join(bin, "telhook")), "target/debug/telhook (make test builds it)");
  for (const line of CLI_BLOCK[0].code.trim().split("\n")) {
    // `cargo run -p telhook-cli --` runs the binary that `make test` has already built.
    const command = line.replace(/^cargo run -p telhook-cli -- /, "telhook ");
    const output = execFileSync("bash", ["-e", "-o", "pipefail", "-c", command], {
      cwd: dir,
      encoding: "utf8",
      env: { PATH: `${bin}:${process.env.PATH}`, HOME: process.env.HOME ?? dir },
    });
    const comment = line.match(/#\s*(\{.*\})\s*$/);
    if (comment) assert.deepStrictEqual(JSON.parse(output), JSON.parse(comment[1]), line);
    if (line.includes(" normalize ")) assert.equal(JSON.parse(output).id, "lisoloo:0b6f0f0e-8a57-4c55-9a43-55c3b0e1a003", line);
    if (line.includes(" detect ")) assert.equal(output.trim(), "lisoloo", line);
    if (line.includes(" policy ")) assert.equal(JSON.parse(output).provider, "looplookup", line);
  }
});

// ------------------------------------------------------------------- who runs every block

/** Each rule names the test that runs the blocks it matches and a string of that test's source
 * that selects them (so a rule cannot name a test that does not look for the block). */
const RUNNERS = [
  { readme: "README.md", lang: "js", when: (b) => b.markers.some((m) => m.startsWith("<!-- readme-test:")), runner: "npm/test/readme.test.mjs", selects: "<!-- readme-test:" },
  { readme: "README.md", lang: "js", when: (b) => /<!-- example: inbox-(node|worker) -->/.test(b.markers.join()), runner: "npm/test/readme-inbox.test.mjs", selects: "README.md's ${name} differs from npm/README.md's" },
  { readme: "README.md", lang: "js", when: (b) => b.code.includes("MessageStatusLedger"), runner: "npm/test/ledger.test.mjs", selects: "README_LEDGER.match(/```js" },
  { readme: "README.md", lang: "js", when: (b) => b.code.includes('from "telhook/testing"'), runner: "npm/test/testing.test.mjs", selects: "## Testing your receiver" },
  { readme: "README.md", lang: "js", when: (b) => b.markers.includes("<!-- example: providers-node -->"), runner: "npm/test/readme-providers.test.mjs", selects: "<!-- example: providers-node -->" },
  { readme: "npm/README.md", lang: "js", when: (b) => /<!-- example: inbox-(node|worker) -->/.test(b.markers.join()), runner: "npm/test/readme-inbox.test.mjs", selects: "<!-- example: ${name} -->" },
  { readme: "npm/README.md", lang: "js", when: (b) => /<!-- example: (one-request|node|edge|worker|hono) -->/.test(b.markers.join()), runner: "npm/test/packaging.test.mjs", selects: "README_EXAMPLES" },
  { readme: "npm/README.md", lang: "ts", when: () => true, runner: "npm/test/readme-snippets.test.mjs", selects: "TS_BLOCKS" },
  { readme: "README.md", lang: "python", when: (b) => b.code.includes("SqlInbox"), runner: "python/tests/test_sqlalchemy_inbox.py", selects: "from telhook.flask import inbox_view" },
  { readme: "README.md", lang: "python", when: (b) => b.code.includes("DjangoInbox"), runner: "python/tests/test_django_inbox.py", selects: "The root README's Django inbox example" },
  { readme: "README.md", lang: "python", when: (b) => b.code.includes("telhook.django_ledger"), runner: "python/tests/test_ledger.py", selects: "README.md" },
  { readme: "README.md", lang: "python", when: (b) => b.code.includes("post_to_django"), runner: "python/tests/test_testing.py", selects: "## Testing your receiver" },
  { readme: "README.md", lang: "python", when: (b) => /import webhook|WebhookBodyCap|telhook\.ack_for_error\(/.test(b.code) && !b.code.includes("django_ledger") && !b.markers.includes("<!-- example: providers-flask -->"), runner: "python/tests/test_readme.py", selects: "python_blocks(ROOT / \"README.md\")" },
  { readme: "README.md", lang: "python", when: (b) => b.markers.includes("<!-- example: providers-flask -->"), runner: "python/tests/test_readme_providers.py", selects: 'MARKER = "<!-- example: providers-flask -->"' },
  { readme: "python/README.md", lang: "python", when: () => true, runner: "python/tests/test_readme.py", selects: "python_blocks(ROOT / \"python\" / \"README.md\")" },
  { readme: "README.md", lang: "rust", when: () => true, runner: "core/src/lib.rs", selects: 'include_str!("../../README.md")' },
  { readme: "README.md", lang: "sh", when: (b) => b.code.includes("telhook simulate"), runner: "cli/tests/simulate.rs", selects: "## Testing your receiver" },
  { readme: "README.md", lang: "sh", when: (b) => b.code.includes("telhook detect"), runner: "npm/test/readme-snippets.test.mjs", selects: "CLI_BLOCK" },
];
// Shell blocks no test runs as written, and why.
const NOT_RUN = [
  { lang: "sh", when: (b) => b.code.startsWith("make demo"), why: "`make test` itself (and `make demo`)" },
  { lang: "sh", when: (b) => b.code.trim() === "npm install telhook", why: "the npm registry; packaging.test.mjs installs the packed tarball" },
  { lang: "sh", when: (b) => b.code.startsWith("pip install telhook"), why: "PyPI; `make test-wheel` installs the built wheel" },
];
// Not code: the wrangler.toml files (each is read by the test of its Worker and bound as wrangler
// would bind it) and the event's JSON.
const NOT_CODE = new Set(["toml", "json"]);

test("every code block of the three READMEs is run by a test (and every JS/TS block type-checked): the count", (t) => {
  const unrun = [];
  const counts = {};
  for (const block of BLOCKS) {
    const count = (counts[block.readme] ??= { blocks: 0, code: 0, run: 0, typechecked: 0, other: {}, notRun: [] });
    count.blocks += 1;
    if (NOT_CODE.has(block.lang)) {
      count.other[block.lang] = (count.other[block.lang] ?? 0) + 1;
      continue;
    }
    count.code += 1;
    const skipped = NOT_RUN.find((rule) => rule.lang === block.lang && rule.when(block));
    if (skipped) {
      count.notRun.push(`${where(block)}: ${skipped.why}`);
      continue;
    }
    const rules = RUNNERS.filter((rule) => rule.readme === block.readme && rule.lang === block.lang && rule.when(block));
    if (rules.length !== 1) {
      unrun.push(`${where(block)} (${block.lang}): ${rules.length} runners`);
      continue;
    }
    const [{ runner, selects }] = rules;
    assert.ok(existsSync(join(REPO, runner)), runner);
    assert.ok(readFileSync(join(REPO, runner), "utf8").includes(selects), `${runner} does not select ${where(block)}`);
    count.run += 1;
    if (isScript(block) && typecheckKind(block)) count.typechecked += 1;
  }
  for (const [readme, c] of Object.entries(counts)) {
    t.diagnostic(`${readme}: ${c.run} of ${c.code} code blocks run, ${c.typechecked} type-checked; not code: ${JSON.stringify(c.other)}`);
    for (const line of c.notRun) t.diagnostic(`  not run: ${line}`);
  }
  assert.deepStrictEqual(unrun, [], "a code block no test runs (or more than one rule claims)");
});
