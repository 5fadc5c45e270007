// What V8 compiles (Liftoff function bodies, in bytes) at the Workers entry's start-up (its
// warm-up, npm/src/warm-up.mjs) and in the first request after it, per provider: the load-proof
// measure of the workerd first-request goal (a request's compile is CPU inside that request;
// timings of one cold start move by milliseconds with the host's load, these bytes do not).
// npm/dist/workerd.mjs runs in Node with its `.wasm` import replaced by the compiled module, as
// workerd gives it. bench/PROFILE.md, thirty-sixth session.
// Usage: node bench/node/workerd-compile.mjs [dist dir] (default npm/dist, whose table `make bench`
// keeps in target/bench/workerd-compile.md for bench/report.py)
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { providerRequests } from "../../npm/scripts/warm-up-requests.mjs";

const here = fileURLToPath(import.meta.url);

if (process.argv[2] === "--child") {
  const [entry, mode, requestJson] = process.argv.slice(3);
  // Written at once, in order with V8's own lines (process.stdout is asynchronous on a pipe).
  const mark = (name) => writeSync(1, `@@MARK ${name}\n`);
  mark("startup");
  const telhook = await import(entry);
  mark("request");
  const { provider, credentials, request, now } = JSON.parse(requestJson);
  if (mode === "receiver") {
    new telhook.Receiver(provider, credentials).normalize(request, { now });
  } else {
    // As the README's Workers examples: createHandler built in the first request.
    const handle = telhook.createHandler({
      provider, credentials, clock: () => now,
      ...(mode === "inbox" ? { inbox: telhook.memoryInbox() } : { store: telhook.memoryStore({ clock: () => now }), onEvent: () => {} }),
    });
    const method = request.method ?? "POST";
    const body = request.body_base64 !== undefined ? Buffer.from(request.body_base64, "base64") : request.body;
    const answer = await handle(
      new Request(request.url ?? "https://worker.test/hook", { method, headers: request.headers, body: method === "GET" ? undefined : body }),
      {},
      { waitUntil() {} },
    );
    if (answer.status !== 200) throw new Error(`${provider} ${mode}: answered ${answer.status} ${await answer.text()}`);
  }
  mark("end");
} else {
  const dist = resolve(process.argv[2] ?? fileURLToPath(new URL("../../npm/dist", import.meta.url)));
  const entry = join(mkdtempSync(join(tmpdir(), "telhook-workerd-compile-")), "workerd.mjs");
  writeFileSync(
    entry,
    readFileSync(join(dist, "workerd.mjs"), "utf8").replace(
      /^import (\w+) from "\.\/telhook_wasm_bg\.wasm";$/m,
      (_, name) => `import { readFileSync } from "node:fs"; const ${name} = new WebAssembly.Module(readFileSync(${JSON.stringify(join(dist, "telhook_wasm_bg.wasm"))}));`,
    ),
  );
  const requests = providerRequests().map((r) => r.value);
  const limephone = requests.find((r) => r.provider === "limephone");
  const runs = [
    ...requests.map((r) => ["receiver", r]),
    ["store", limephone],
    ["inbox", limephone],
  ];
  const lines = ["| first request | start-up compiles | the request compiles |", "|---|---:|---:|"];
  for (const [mode, request] of runs) {
    const run = spawnSync(process.execPath, ["--trace-wasm-compilation-times", here, "--child", entry, mode, JSON.stringify(request)], { encoding: "utf8" });
    if (run.status !== 0) throw new Error(`${request.provider} ${mode}: ${run.stderr}`);
    const bytes = {};
    let phase = null;
    for (const line of run.stdout.split("\n")) {
      const marked = /^@@MARK (\w+)/.exec(line);
      if (marked) phase = marked[1];
      const compiled = /^Compiled function .* using Liftoff, .*; bodysize (\d+)/.exec(line);
      if (compiled && phase) bytes[phase] = (bytes[phase] ?? 0) + Number(compiled[1]);
    }
    const label = mode === "receiver" ? `\`Receiver\`, ${request.provider}` : `\`createHandler\` + ${mode}, ${request.provider}`;
    lines.push(`| ${label} | ${(bytes.startup ?? 0).toLocaleString("en")} B | ${(bytes.request ?? 0).toLocaleString("en")} B |`);
  }
  console.log(lines.join("\n"));
  if (process.argv[2] === undefined) {
    mkdirSync(fileURLToPath(new URL("../../target/bench", import.meta.url)), { recursive: true });
    writeFileSync(fileURLToPath(new URL("../../target/bench/workerd-compile.md", import.meta.url)), `${lines.join("\n")}\n`);
  }
}
