// `telhook simulate` (the Rust CLI) against the Node example receiver (node:http + the
// package's middleware) on loopback, for every provider: nothing lost, nothing processed twice,
// no forgery accepted.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const TELHOOK = fileURLToPath(new URL("../../target/debug/telhook", import.meta.url));
const RECEIVER = fileURLToPath(new URL("../scripts/example-receiver.mjs", import.meta.url));
import { CREDENTIALS } from "./test-credentials.mjs";

async function startReceiver(provider, credentialsPath) {
  const child = spawn(process.execPath, [RECEIVER, provider, credentialsPath], { stdio: ["ignore", "pipe", "inherit"] });
  const url = await new Promise((resolve, reject) => {
    child.stdout.once("data", (chunk) => resolve(String(chunk).trim()));
    child.once("exit", (code) => reject(new Error(`receiver exited with ${code}`)));
  });
  return { child, url };
}

test("simulate passes against the Node example receiver for every provider", async () => {
  assert.ok(existsSync(TELHOOK), `${TELHOOK} is built by make test-node`);
  const dir = mkdtempSync(join(tmpdir(), "telhook-simulate-"));
  try {
    for (const [provider, credentials] of Object.entries(CREDENTIALS)) {
      const path = join(dir, `${provider}.json`);
      writeFileSync(path, JSON.stringify(credentials));
      const { child, url } = await startReceiver(provider, path);
      try {
        const out = await new Promise((resolve) => {
          const run = spawn(TELHOOK, ["simulate", `${url}/hooks`, "--provider", provider, "--credentials", path,
            "--count-url", `${url}/count`, "--speed", "100000", "--json"]);
          let stdout = "";
          run.stdout.on("data", (chunk) => (stdout += chunk));
          run.on("exit", (code) => resolve({ code, stdout }));
        });
        const report = JSON.parse(out.stdout);
        assert.equal(out.code, 0, `${provider}: ${JSON.stringify(report.verdict)}`);
        assert.deepEqual(report.verdict.lost, [], provider);
        assert.deepEqual(report.verdict.duplicated, [], provider);
        assert.deepEqual(report.verdict.forgeries_accepted, [], provider);
        assert.equal(report.verdict.duplicates_measured, true);
        assert.ok(report.deliveries.filter((d) => d.event.startsWith("forged:")).every((d) => d.status === 401), provider);
      } finally {
        child.kill();
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
