// Runs one handler vector (tests/handlers/*.json) through an adapter: the same code drives
// createHandler inside workerd (bundled into the test Worker) and the Node middleware behind a
// real node:http server, so both runtimes are held to the same answers.
//
// `open({provider, credentials, options, store, clock, onEvent})` returns `{send(delivery), close()}`;
// `send` resolves to `{status, headers (lower-case names), body (text)}`.
import { bodyOf, headerPairs } from "./vector-reader.mjs";

// Headers that belong to the transport, not to the answer.
const TRANSPORT_HEADERS = new Set(["date", "connection", "keep-alive", "content-length", "transfer-encoding"]);

export const deliveryBody = bodyOf;

/** The delivery's headers as pairs, without Content-Length (HTTP clients set it themselves). */
export function deliveryHeaders(delivery) {
  return headerPairs(delivery).filter(([name]) => name.toLowerCase() !== "content-length");
}

/** The answer's code: `{"outcome"|"error": code}`, or Twilio's empty TwiML with it in a comment. */
export function codeOf(body) {
  const twiml = /^<\?xml version="1\.0" encoding="UTF-8"\?><!-- telhook: ([a-z_]+) --><Response\/>$/.exec(body);
  if (twiml) return twiml[1];
  try {
    const parsed = JSON.parse(body);
    return parsed.error ?? parsed.outcome ?? null;
  } catch {
    return null;
  }
}

/** What the vector's `expect` can be compared with: status, code and only the listed headers. */
export function comparable(result, expect) {
  const actual = { status: result.status, code: codeOf(result.body) };
  if (expect.headers !== undefined) {
    actual.headers = {};
    for (const name of Object.keys(expect.headers)) {
      if (result.headers[name] !== undefined) actual.headers[name] = result.headers[name];
    }
  }
  return actual;
}

/** The whole answer minus transport headers, for comparing runtimes with each other. */
function fullAnswer(result) {
  const headers = Object.fromEntries(Object.entries(result.headers).filter(([name]) => !TRANSPORT_HEADERS.has(name)));
  return { status: result.status, headers, body: result.body };
}

function deferred() {
  let resolve;
  const promise = new Promise((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/**
 * Runs every step; resolves to `{steps: [{index, expect, actual, answer}], handler_calls}`.
 * `telhook` is the package under test (for its memoryStore).
 */
export async function runHandlerVector(telhook, vector, open) {
  // `advance_secs` moves the store's clock only; the receiver keeps the vector's `now`.
  let advanced = 0;
  // The memory store, whose claim breaks for a delivery whose step says how (`"store"`:
  // "fails", "answers_no_state").
  const memory = telhook.memoryStore({ clock: () => vector.now + advanced });
  let brokenClaim;
  // "settle_fails": the delivery's first settling call (complete or release) fails; `settled`
  // counts the ones that held since, which the runner waits for before the next step.
  let brokenSettle = false;
  let settled = 0;
  const settle = (call) => {
    if (brokenSettle) {
      brokenSettle = false;
      return Promise.reject(new Error("the vector's dedupe store blinked"));
    }
    const done = call();
    settled += 1;
    return done;
  };
  const store = {
    claim(...args) {
      const broken = brokenClaim;
      brokenClaim = undefined;
      if (broken === "fails") return Promise.reject(new Error("the vector's dedupe store is down"));
      if (broken === "answers_no_state") return Promise.resolve(null);
      return memory.claim(...args);
    },
    complete: (...args) => settle(() => memory.complete(...args)),
    release: (...args) => settle(() => memory.release(...args)),
  };
  const settledAgain = async (before, index) => {
    for (let waited = 0; settled === before; waited += 10) {
      if (waited >= 10_000) throw new Error(`step ${index}: the failed settling call was not tried again within 10 s`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  };
  const clock = () => vector.now;
  let calls = 0;
  let nextBehaviour = null;
  const onEvent = async () => {
    calls += 1;
    const behaviour = nextBehaviour;
    nextBehaviour = null;
    if (behaviour === null || behaviour === "ok") return undefined;
    if (behaviour === "raise") throw new Error("the vector's handler raised");
    if (behaviour.status !== undefined) {
      // Fetch's Response only takes 200..599: any other status travels in a response-like
      // object, so that the core (not the Response constructor) judges it.
      if (behaviour.status >= 200 && behaviour.status <= 599) return new Response(null, { status: behaviour.status });
      return { status: behaviour.status, headers: {}, body: null, arrayBuffer: async () => new ArrayBuffer(0) };
    }
    // "hold": block until the vector's finish step.
    behaviour.entered.resolve();
    const outcome = await behaviour.released.promise;
    if (outcome === "raise") throw new Error("the vector's held handler raised");
    return undefined;
  };
  const adapter = await open({ provider: vector.provider, credentials: vector.credentials, options: vector.options, store, clock, onEvent });
  const steps = [];
  const held = new Map();
  const record = (index, expect, result) => {
    steps.push({ index, expect, actual: comparable(result, expect ?? {}), answer: fullAnswer(result) });
  };
  try {
    for (const [index, step] of vector.steps.entries()) {
      if (step.advance_secs !== undefined) {
        advanced += step.advance_secs;
      } else if (step.deliver !== undefined) {
        brokenClaim = step.store;
        if (step.handler === "hold") {
          const behaviour = { entered: deferred(), released: deferred() };
          nextBehaviour = behaviour;
          const pending = adapter.send(step.deliver);
          // Go on once the handler holds (or the delivery was answered without reaching it).
          await Promise.race([behaviour.entered.promise, pending]);
          held.set(index, { behaviour, pending, expect: step.expect });
        } else {
          nextBehaviour = step.handler ?? "ok";
          brokenSettle = step.store === "settle_fails";
          const before = settled;
          const result = await adapter.send(step.deliver);
          nextBehaviour = null;
          record(index, step.expect, result);
          if (step.store === "settle_fails") await settledAgain(before, index);
        }
      } else if (step.finish !== undefined) {
        const { behaviour, pending, expect } = held.get(step.finish);
        held.delete(step.finish);
        if (nextBehaviour === behaviour) nextBehaviour = null;
        behaviour.released.resolve(step.outcome ?? "ok");
        record(step.finish, step.expect ?? expect, await pending);
      } else {
        throw new Error(`step ${index}: unknown step ${JSON.stringify(Object.keys(step))}`);
      }
    }
    for (const [index, { behaviour, pending, expect }] of held) {
      behaviour.released.resolve("ok");
      record(index, expect, await pending);
    }
  } finally {
    await adapter.close();
  }
  return { steps, handler_calls: calls };
}

/** The handler-vector adapter for createHandler: Fetch Requests handed to it directly (Node or workerd). */
export function fetchHandlerAdapter(telhook, env, ctx) {
  // `config`: {provider, credentials, options, clock} and either {store, onEvent} or {inbox}.
  return async (config) => {
    const handler = telhook.createHandler({ ...config, onError: () => {} });
    return {
      async send(delivery) {
        const method = delivery.method ?? "POST";
        const request = new Request(new URL(delivery.url ?? "/hook", "https://hooks.test"), {
          method,
          headers: deliveryHeaders(delivery),
          body: method === "GET" || method === "HEAD" ? undefined : deliveryBody(delivery),
        });
        const response = await handler(request, env, ctx);
        const headers = {};
        response.headers.forEach((value, name) => {
          headers[name] = value;
        });
        return { status: response.status, headers, body: await response.text() };
      },
      close: async () => {},
    };
  };
}
