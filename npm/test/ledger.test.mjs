// The status ledger in Node and workerd: the shared vectors, the D1 statement, and the README's
// Worker + Durable Object under 50 concurrent reports of one message (20 runs).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Miniflare } from "miniflare";
import * as telhook from "telhook";
import { bundleWorker } from "./bundle-worker.mjs";
import { expectedRuns, runLedgerVector } from "./ledger-vectors.mjs";
import { miniflareBindings, tomlAfter, wranglerProblems } from "./wrangler-toml.mjs";

const LEDGER_DIR = new URL("../../tests/ledger/", import.meta.url);
const vectors = readdirSync(LEDGER_DIR)
  .filter((file) => file.endsWith(".json"))
  .sort()
  .map((file) => ({ name: file, vector: JSON.parse(readFileSync(new URL(file, LEDGER_DIR), "utf8")) }));
const LISOLOO = { username: "lisoloo-hook", password: "liso-PASS-ledger-test" };
const STATUSES = ["accepted", "queued", "sent", "failed", "expired", "rejected", "canceled", "delivered"];
const LISOLOO_WORD = { accepted: "pending", queued: "processing" };


let testWorker;
let readmeWorker;

const README_LEDGER = (() => {
  const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
  return readme.slice(readme.indexOf("## Delivery status"));
})();
/** The README's wrangler.toml for the ledger Worker. */
const LEDGER_WRANGLER = tomlAfter(README_LEDGER, "```toml");

/** The README's Worker block. */
function readmeWorkerSource() {
  const block = README_LEDGER.match(/```js\n([\s\S]*?)```/)[1];
  assert.ok(block.trim().split("\n").length <= 20, "the README Worker example has at most 20 lines");
  return { contents: block };
}

before(async () => {
  testWorker = new Miniflare({
    ...(await bundleWorker(fileURLToPath(new URL("./ledger-worker.mjs", import.meta.url)))),
    d1Databases: ["DB"],
  });
  readmeWorker = new Miniflare({
    ...(await bundleWorker(readmeWorkerSource())),
    ...miniflareBindings(LEDGER_WRANGLER), // the README's wrangler.toml
    compatibilityDate: LEDGER_WRANGLER.compatibility_date,
    bindings: { LISOLOO_USER: LISOLOO.username, LISOLOO_PASSWORD: LISOLOO.password },
  });
  await Promise.all([testWorker.ready, readmeWorker.ready]);
});

after(async () => {
  await testWorker?.dispose();
  await readmeWorker?.dispose();
});

test("the README's ledger wrangler.toml binds LEDGER to MessageStatusLedger and migrates every Durable Object class it binds", () => {
  assert.deepStrictEqual(miniflareBindings(LEDGER_WRANGLER).durableObjects, { LEDGER: "MessageStatusLedger" });
  assert.deepStrictEqual(wranglerProblems(LEDGER_WRANGLER), []);
  for (const key of ["name", "main", "compatibility_date"]) assert.ok(LEDGER_WRANGLER[key], `wrangler.toml has no ${key}`);
});

test("at least 20 ledger vectors, every run ends in the expected verdicts and state in Node", () => {
  assert.ok(vectors.length >= 20, `${vectors.length} ledger vectors`);
  for (const { name, vector } of vectors) {
    assert.deepStrictEqual(runLedgerVector(telhook, vector), expectedRuns(vector), name);
  }
});

test("every ledger vector gives the same result inside workerd", async () => {
  for (const { name, vector } of vectors) {
    const response = await testWorker.dispatchFetch("https://ledger.test/vector", { method: "POST", body: JSON.stringify(vector) });
    assert.deepStrictEqual(await response.json(), expectedRuns(vector), name);
  }
});

test("an event that is not a status report is refused with a typed error", () => {
  const event = statusEvent("m", "sent", 0);
  event.status = null;
  assert.throws(() => telhook.ledgerApply(null, event), (e) => e instanceof telhook.RequestError && e.code === "invalid_request");
});

/** A normalized Lisoloo status event, as the core produces it from a delivery. */
function statusEvent(messageId, status, n) {
  const word = LISOLOO_WORD[status] ?? status;
  const at = new Date(Date.UTC(2026, 4, 27, 10, 0, n)).toISOString().replace(".000Z", "Z");
  const event = {
    schema_version: 1, provider: "lisoloo", id: `lisoloo:${messageId}-${n}`, type: "message.status",
    provider_event_type: `sms.${word}`, occurred_at: at, received_at: "2026-05-27T11:00:00Z", from: null, to: "+4512345678",
    status: { value: status, final: false, rank: 0, provider_status: word },
    message: { id: messageId, direction: "outbound", text: null, reference: null, error: null },
    call: null, lookup: null, record: null, raw: { data: { recipient_phone: "+4512345678" } },
  };
  // Rank and final as the core gives them (the ledger reads only the status name).
  const update = telhook.ledgerUpdate(event);
  Object.assign(event.status, { rank: update.rank, final: update.final });
  return event;
}
const RANK = Object.fromEntries(STATUSES.map((s) => [s, statusEvent("m", s, 0).status.rank]));

function shuffled(items) {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/** 50 statuses of one message, the best of them, in random order. */
function fiftyReports() {
  const statuses = Array.from({ length: 50 }, () => STATUSES[Math.floor(Math.random() * STATUSES.length)]);
  const best = statuses.reduce((a, b) => (RANK[b] > RANK[a] ? b : a));
  return { statuses: shuffled(statuses), best };
}

test("D1: 50 concurrent reports of one message store the highest-ranked status (20 runs)", async () => {
  for (let run = 0; run < 20; run++) {
    const { statuses, best } = fiftyReports();
    const messageId = `d1-run-${run}`;
    const results = await Promise.all(
      statuses.map((status, n) =>
        testWorker
          .dispatchFetch("https://ledger.test/d1", { method: "POST", body: JSON.stringify(statusEvent(messageId, status, n)) })
          .then((r) => r.json()),
      ),
    );
    const finalState = (await (await testWorker.dispatchFetch("https://ledger.test/d1", {
      method: "POST",
      body: JSON.stringify(statusEvent(messageId, "accepted", 99)),
    })).json()).state;
    assert.equal(finalState.status, best, `run ${run}`);
    assert.equal(finalState.rank, RANK[best]);
    assert.equal(results.filter((r) => r.verdict === "applied" && r.state.status === best).length, 1, `run ${run}`);
  }
});

function lisolooDelivery(messageId, status, n) {
  const word = LISOLOO_WORD[status] ?? status;
  const body = JSON.stringify({
    event_id: `7d0c4e8a-1b2f-4c3d-9e8f-${String(n).padStart(12, "0")}`,
    event_type: `sms.${word}`,
    timestamp: new Date(Date.UTC(2026, 4, 27, 10, 0, n)).toISOString(),
    message_id: messageId,
    data: { recipient_phone: "+4512345678" },
  });
  const authorization = `Basic ${btoa(`${LISOLOO.username}:${LISOLOO.password}`)}`;
  return { method: "POST", headers: { authorization, "content-type": "application/json" }, body };
}

test("README Worker: a verified report whose message_id is null is answered 200, not a 500 Lisoloo retries and drops (review)", async () => {
  const delivery = lisolooDelivery("unused", "delivered", 7);
  const body = JSON.parse(delivery.body);
  body.message_id = null;
  const answer = await readmeWorker.dispatchFetch("https://worker.test/hooks/lisoloo", { ...delivery, body: JSON.stringify(body) });
  assert.equal(answer.status, 200, await answer.text());
});

test("README Worker + Durable Object: 50 concurrent deliveries of one message end at the highest-ranked status (20 runs)", async () => {
  const ledger = await readmeWorker.getDurableObjectNamespace("LEDGER");
  for (let run = 0; run < 20; run++) {
    const { statuses, best } = fiftyReports();
    const messageId = `do-run-${run}`;
    const answers = await Promise.all(
      statuses.map((status, n) => readmeWorker.dispatchFetch("https://worker.test/hooks/lisoloo", lisolooDelivery(messageId, status, n))),
    );
    assert.deepStrictEqual(answers.map((a) => a.status), statuses.map(() => 200), `run ${run}`);
    // One more (lowest) report through the object itself returns the stored state unchanged.
    const probe = statusEvent(messageId, "accepted", 99);
    const { verdict, state } = await (await telhook.ledgerObject(ledger, probe).fetch("https://telhook.ledger/apply", {
      method: "POST",
      body: JSON.stringify(probe),
    })).json();
    assert.equal(state.status, best, `run ${run}`);
    assert.equal(verdict, state.final ? "after_final" : "stale");
    assert.equal(Object.keys(state.seen).length, new Set([...statuses, "accepted"]).size);
  }
});
