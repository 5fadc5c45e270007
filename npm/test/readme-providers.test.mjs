// README.md's Twilio, Telnyx and Vonage receiver (<!-- example: providers-node -->), run as
// written with node and judged by `telhook simulate` (the Rust CLI) on loopback for each of the
// three providers: 0 lost, 0 duplicated, 0 forgeries accepted, and every event delivered
// processed exactly once. How often the example ran its handler is read from what it prints
// (`console.log(event.type, event.id)`), served to simulate's --count-url by this test.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort, waitForPort } from "./ports.mjs";

const REPO = fileURLToPath(new URL("../../", import.meta.url));
const TELHOOK = join(REPO, "target", "debug", "telhook");
// Inside the package, so that "telhook" resolves to it by self-reference.
const scratch = mkdtempSync(join(REPO, "npm", "test", ".readme-providers-"));
after(() => rmSync(scratch, { recursive: true, force: true }));

/** The README's one ```js block marked <!-- example: providers-node -->. */
function example() {
  const readme = readFileSync(join(REPO, "README.md"), "utf8");
  const blocks = [...readme.matchAll(/<!-- example: providers-node -->\n```js\n([\s\S]*?)```/g)];
  assert.equal(blocks.length, 1, "README.md has one <!-- example: providers-node --> block");
  return blocks[0][1];
}

// Secrets the kit can sign for; Telnyx's is RFC 8032's test key (the kit holds its private half).
const SECRETS = {
  TWILIO_AUTH_TOKEN: "twilio-AUTH-token-readme",
  TELNYX_PUBLIC_KEY: "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=",
  VONAGE_SIGNATURE_SECRET: "vonage-SIGNATURE-secret-readme",
};
const CREDENTIALS = {
  twilio: { auth_token: SECRETS.TWILIO_AUTH_TOKEN },
  telnyx: { ed25519_public_key: SECRETS.TELNYX_PUBLIC_KEY },
  vonage: { jwt_hs256: SECRETS.VONAGE_SIGNATURE_SECRET },
};

function simulate(args) {
  return new Promise((resolve) => {
    const run = spawn(TELHOOK, ["simulate", ...args, "--speed", "100000", "--json"]);
    let stdout = "";
    let stderr = "";
    run.stdout.on("data", (chunk) => (stdout += chunk));
    run.stderr.on("data", (chunk) => (stderr += chunk));
    run.on("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

test("README's Twilio, Telnyx and Vonage receiver (Node): telhook simulate loses nothing, duplicates nothing, lets no forgery in", async (t) => {
  assert.ok(existsSync(TELHOOK), `${TELHOOK} is built by make test-node`);
  const code = example();
  const publicUrl = code.match(/public_url: "([^"]+)"/)?.[1];
  assert.ok(publicUrl, "the example configures Twilio's public_url");
  const file = join(scratch, "receiver.mjs");
  writeFileSync(file, code);
  const port = await freePort();
  const child = spawn(process.execPath, [file], { env: { ...process.env, ...SECRETS, PORT: String(port) }, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout.on("data", (chunk) => (output += chunk));
  child.stderr.on("data", (chunk) => (output += chunk));
  // The handler's calls, as the example prints them: "<type> <id>" a line.
  const processed = () => {
    const counts = {};
    for (const line of output.split("\n").filter(Boolean)) {
      const id = line.split(" ")[1];
      if (id) counts[id] = (counts[id] ?? 0) + 1;
    }
    return counts;
  };
  const counter = http.createServer((req, res) => res.end(JSON.stringify(processed())));
  await new Promise((resolve) => counter.listen(0, "127.0.0.1", resolve));
  const countUrl = `http://127.0.0.1:${counter.address().port}/count`;
  try {
    await waitForPort(port, child);
    for (const [provider, credentials] of Object.entries(CREDENTIALS)) {
      const path = join(scratch, `${provider}.json`);
      writeFileSync(path, JSON.stringify(credentials));
      const url = `http://127.0.0.1:${port}/hooks/${provider}`;
      const args = [url, "--provider", provider, "--credentials", path, "--count-url", countUrl];
      if (provider === "twilio") args.push("--public-url", publicUrl);
      const run = await simulate(args);
      assert.equal(run.code, 0, `${provider}: ${run.stdout}${run.stderr}\n${output}`);
      const report = JSON.parse(run.stdout);
      const { verdict, deliveries } = report;
      assert.deepEqual([verdict.lost, verdict.duplicated, verdict.forgeries_accepted], [[], [], []], provider);
      assert.equal(verdict.duplicates_measured, true);
      const genuine = deliveries.filter((d) => !d.event.startsWith("forged:"));
      const accepted = genuine.filter((d) => d.status === 200 && d.outcome === "accepted");
      const duplicates = genuine.filter((d) => d.status === 200 && d.outcome === "duplicate");
      const forged = deliveries.filter((d) => d.event.startsWith("forged:"));
      assert.ok(accepted.length >= 3, `${provider}: ${accepted.length} accepted`);
      assert.ok(duplicates.length >= 3, `${provider}: the redelivery and two concurrent copies`);
      assert.ok(forged.length >= 2 && forged.every((d) => d.status === 401), `${provider}: ${JSON.stringify(forged)}`);
      const labels = new Set(accepted.map((d) => d.event));
      if (provider === "vonage") {
        for (const kind of ["message_status", "inbound_message", "delivery_receipt", "inbound_sms"]) assert.ok(labels.has(kind), kind);
        for (const shape of ["delivery_receipt (form)", "delivery_receipt (GET)", "inbound_sms (form)", "inbound_sms (GET)"]) assert.ok(labels.has(shape), shape);
        assert.ok(forged.some((d) => d.event.endsWith("[delivery_receipt (GET)]")));
      }
      if (provider === "twilio") {
        assert.equal(report.public_url, publicUrl);
        assert.ok(labels.has("message_status (GET)"), [...labels].join());
      }
      // Every event of the run was processed exactly once, by the example's own handler.
      const counts = processed();
      const ids = Object.keys(counts).filter((id) => id.startsWith(`${provider}:`));
      assert.equal(ids.length, accepted.length, `${provider}: ${JSON.stringify(counts)}`);
      assert.ok(ids.every((id) => counts[id] === 1), JSON.stringify(counts));
      t.diagnostic(
        `${provider}: ${accepted.length} events delivered and processed once (${genuine.length} deliveries, ${duplicates.length} answered duplicate), ` +
          `${verdict.lost.length} lost, ${verdict.duplicated.length} duplicated, ${forged.length} forgeries refused, ${verdict.forgeries_accepted.length} accepted`,
      );
    }
  } finally {
    child.kill();
    counter.close();
  }
});
