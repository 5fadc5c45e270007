// One BullMQ worker process of bullmq.test.mjs (forked 4 times): the inbox's processor and the
// core's backoff, a handler that sleeps HANDLER_MS and fails a tenth of its attempts
// (deterministically, by event id and attempt; FAIL_TENTH=0: none); it reports each attempt and
// success to its parent.
import { createHash } from "node:crypto";
import { Queue, Worker } from "bullmq";
import * as telhook from "telhook";

const { REDIS_PORT, QUEUE, HANDLER_MS, POLICY, CONCURRENCY, FAIL_TENTH = "1", LOCK_MS, STALLED_MS } = process.env;
const connection = { host: "127.0.0.1", port: Number(REDIS_PORT), maxRetriesPerRequest: null };
const inbox = telhook.bullmqInbox(new Queue(QUEUE, { connection }), { policy: JSON.parse(POLICY) });

/** Whether attempt `attempt` of event `id` fails: a tenth of all attempts. */
export const failsAttempt = (id, attempt) => createHash("sha256").update(`${id}/${attempt}`).digest()[0] < 26;

const worker = new Worker(
  QUEUE,
  inbox.processor(async (event, job) => {
    const attempt = job.attemptsMade + 1;
    process.send({ kind: "attempt", id: event.id, attempt });
    await new Promise((resolve) => setTimeout(resolve, Number(HANDLER_MS)));
    if (FAIL_TENTH === "1" && failsAttempt(event.id, attempt)) throw new Error("a tenth of the attempts fail");
    process.send({ kind: "done", id: event.id });
  }),
  {
    connection,
    concurrency: Number(CONCURRENCY),
    settings: { backoffStrategy: inbox.backoffStrategy },
    // How soon a dead worker's job is taken again (BullMQ renews the lock while a worker lives).
    ...(LOCK_MS ? { lockDuration: Number(LOCK_MS), stalledInterval: Number(STALLED_MS) } : {}),
  },
);
await worker.waitUntilReady();
process.send({ kind: "ready" });
process.on("message", async (message) => {
  if (message === "close") {
    await worker.close();
    process.exit(0);
  }
});
