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

test("simulate waits for an inbox's worker before it counts: events stored (200 queued) and processed later are neither lost nor duplicated (review)", async () => {
  assert.ok(existsSync(TELHOOK), `${TELHOOK} is built by make test-node`);
  const dir = mkdtempSync(join(tmpdir(), "telhook-simulate-inbox-"));
  const path = join(dir, "limephone.json");
  writeFileSync(path, JSON.stringify(CREDENTIALS.limephone));
  // An inbox receiver whose worker runs a pass every 1.5 s: the counts fill in after the
  // deliveries are answered.
  const receiver = join(dir, "inbox-receiver.mjs");
  writeFileSync(receiver, `
    import http from "node:http";
    import { readFileSync } from "node:fs";
    import { createNodeMiddleware, memoryInbox } from ${JSON.stringify(new URL("../dist/node.mjs", import.meta.url).href)};
    const inbox = memoryInbox();
    const counts = {};
    const receive = createNodeMiddleware({ provider: "limephone", credentials: JSON.parse(readFileSync(process.argv[2], "utf8")), inbox });
    setInterval(() => inbox.work((event) => { counts[event.id] = (counts[event.id] ?? 0) + 1; }), 1500);
    const server = http.createServer((req, res) => (req.url === "/count" ? res.end(JSON.stringify(counts)) : receive(req, res)));
    server.listen(0, "127.0.0.1", () => console.log("http://127.0.0.1:" + server.address().port));
  `);
  const child = spawn(process.execPath, [receiver, path], { stdio: ["ignore", "pipe", "inherit"], cwd: fileURLToPath(new URL("..", import.meta.url)) });
  try {
    const url = await new Promise((resolve, reject) => {
      child.stdout.once("data", (chunk) => resolve(String(chunk).trim()));
      child.once("exit", (code) => reject(new Error(`receiver exited with ${code}`)));
    });
    const out = await new Promise((resolve) => {
      const run = spawn(TELHOOK, ["simulate", `${url}/hooks`, "--provider", "limephone", "--credentials", path,
        "--count-url", `${url}/count`, "--speed", "100000", "--json"]);
      let stdout = "";
      run.stdout.on("data", (chunk) => (stdout += chunk));
      run.on("exit", (code) => resolve({ code, stdout }));
    });
    const report = JSON.parse(out.stdout);
    assert.ok(report.deliveries.some((d) => d.outcome === "queued"), "the receiver stored events in its inbox");
    assert.deepEqual([report.verdict.lost, report.verdict.duplicated, report.verdict.forgeries_accepted], [[], [], []]);
    assert.equal(out.code, 0);
  } finally {
    child.kill();
    rmSync(dir, { recursive: true, force: true });
  }
});
