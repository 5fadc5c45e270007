// Runs one inbox vector (tests/inbox/*.json, format in tests/inbox/generate.py) through an
// adapter in inbox mode — the Node middleware behind node:http, or createHandler (in Node or
// bundled into the workerd test Worker) — against one memoryInbox and one clock, as the Rust
// reference does (core/tests/inbox.rs). The worker steps use memoryInbox's own pass
// (`work(handler)`); a pass with a "die" outcome is spelled out with `claim`/`succeed`/`fail`,
// since a worker that vanishes after its handler records nothing.
//
// `open({provider, credentials, options, clock, inbox})` is the handler vectors' adapter
// (handler-vectors.mjs fetchHandlerAdapter, node-adapter.mjs nodeMiddlewareAdapter).
// Resolves to `{steps: [{index, expect, actual}], handler_calls, expect_handler_calls}`.

import { comparable } from "./handler-vectors.mjs";

class HandlerError extends Error {
  constructor(message) {
    super(message);
    this.name = "HandlerError";
  }
}

export async function runInboxVector(telhook, vector, open) {
  let now = vector.now;
  const clock = () => now;
  const memory = telhook.memoryInbox({ clock, policy: vector.policy });
  // The memory inbox, whose next enqueue fails when a step says `"store": "fails"`, or finds
  // another delivery storing the event when it says `"store": "in_progress"`.
  let failNext = false;
  let busyNext = false;
  const inbox = {
    enqueue(...args) {
      if (failNext) {
        failNext = false;
        return Promise.reject(new Error("the vector's inbox is down"));
      }
      if (busyNext) {
        busyNext = false;
        return Promise.resolve("in_progress");
      }
      return memory.enqueue(...args);
    },
  };
  const adapter = await open({ provider: vector.provider, credentials: vector.credentials, options: vector.options, clock, inbox });
  const steps = [];
  const states = () => memory.entries().map((entry) => entry.state);
  let calls = 0;
  try {
    for (const [index, step] of vector.steps.entries()) {
      if (step.deliver !== undefined) {
        failNext = step.store === "fails";
        busyNext = step.store === "in_progress";
        const result = await adapter.send(step.deliver);
        failNext = false;
        busyNext = false;
        steps.push({ index, expect: step.expect, actual: comparable(result, step.expect) });
        continue;
      }
      if (step.advance_secs !== undefined) {
        now += step.advance_secs;
        continue;
      }
      if (step.work !== undefined) {
        const outcomes = [...step.work];
        let ran = 0;
        let unexpected = false;
        const outcomeOf = () => {
          ran += 1;
          const outcome = outcomes.shift();
          if (outcome === undefined) unexpected = true;
          return outcome;
        };
        if (!step.work.includes("die")) {
          await memory.work(async (event) => {
            if (typeof event?.id !== "string") throw new Error("the worker was handed no event");
            if (outcomeOf() === "raise") throw new HandlerError("the handler raised");
          });
        } else {
          // A "die": the handler ran, and its worker vanished before recording anything.
          for (let job = memory.claim(); job !== null; job = memory.claim()) {
            const outcome = outcomeOf();
            if (outcome === "raise") memory.fail(job, new HandlerError("the handler raised"));
            else if (outcome !== "die") memory.succeed(job);
          }
        }
        calls += ran;
        if (unexpected || outcomes.length > 0) {
          steps.push({ index, expect: step.work, actual: `the worker ran ${ran} handlers` });
          continue;
        }
      } else if (step.replay !== undefined) {
        const { id } = memory.entries()[step.replay];
        if (!memory.replay(id)) steps.push({ index, expect: "replayed", actual: "refused" });
      } else if (step.purge !== undefined) {
        memory.purge();
      } else {
        steps.push({ index, expect: "a known step", actual: Object.keys(step) });
        continue;
      }
      steps.push({ index, expect: step.expect_states, actual: states() });
    }
  } finally {
    await adapter.close();
  }
  return { steps, handler_calls: calls, expect_handler_calls: vector.expect_handler_calls };
}
