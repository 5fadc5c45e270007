// What V8 compiles (Liftoff function bodies, in bytes) on the first `new Receiver` and the first
// normalize of a payload, in a fresh Node process: the load-proof measure of the start-up goal's
// first-call part (wasm functions are compiled on their first call; timings of one cold start
// move by milliseconds with the host's load, these bytes do not). bench/PROFILE.md, thirtieth
// session onwards. Usage: node bench/node/first-call-compile.mjs [payload ...] (default: all).
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";

const here = fileURLToPath(new URL(".", import.meta.url));
const root = `${here}../..`;
const child = process.argv[2] === "--child";

if (child) {
  const { readFileSync, writeSync } = await import("node:fs");
  const payload = JSON.parse(readFileSync(process.argv[3], "utf8"));
  // Written at once, in order with V8's own lines (process.stdout is asynchronous on a pipe).
  const mark = (name) => writeSync(1, `@@MARK ${name}\n`);
  mark("import");
  const { Receiver } = await import(`${root}/npm/dist/node.mjs`);
  mark("new Receiver");
  const receiver = new Receiver(payload.provider, payload.credentials);
  mark("first normalize");
  receiver.normalize(payload.request, { now: payload.now });
  mark("end");
} else {
  const names = process.argv.slice(2);
  const payloads = names.length
    ? names
    : readdirSync(`${root}/bench/payloads`).filter((f) => f.endsWith(".json")).map((f) => f.slice(0, -5));
  console.log("| payload | import | new Receiver | first normalize |");
  console.log("|---|---:|---:|---:|");
  for (const name of payloads) {
    const run = spawnSync(
      process.execPath,
      ["--trace-wasm-compilation-times", fileURLToPath(import.meta.url), "--child", `${root}/bench/payloads/${name}.json`],
      { encoding: "utf8" },
    );
    if (run.status !== 0) throw new Error(`${name}: ${run.stderr}`);
    const totals = new Map();
    let phase = "before";
    for (const line of run.stdout.split("\n")) {
      const marked = /^@@MARK (.*)$/.exec(line);
      if (marked) {
        phase = marked[1];
        continue;
      }
      const compiled = /^Compiled function .* using Liftoff, .*; bodysize (\d+)/.exec(line);
      if (compiled) {
        const [bytes, count] = totals.get(phase) ?? [0, 0];
        totals.set(phase, [bytes + Number(compiled[1]), count + 1]);
      }
    }
    const cell = (phase) => {
      const [bytes, count] = totals.get(phase) ?? [0, 0];
      return `${bytes.toLocaleString("en")} B, ${count}`;
    };
    console.log(`| ${name} | ${cell("import")} | ${cell("new Receiver")} | ${cell("first normalize")} |`);
  }
}
