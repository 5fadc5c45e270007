// Options and clocks are checked once, at creation, by the core (`invalid_option`, a
// ConfigurationError): one test per option, each naming the option and what it takes, never
// the value given. The same cases in Python: python/tests/test_options.py.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as telhook from "telhook";

const credentials = { basic: { username: "hook", password: "s3cret" } };
const base = { provider: "lisoloo", credentials, store: null, onEvent() {} };
const creators = {
  createHandler: (config) => telhook.createHandler(config),
  createNodeMiddleware: (config) => telhook.createNodeMiddleware(config),
};

/** A ConfigurationError `invalid_option` whose field is `option` and whose message shows none of `values`. */
function refused(option, values) {
  return (error) => {
    assert.ok(error instanceof telhook.ConfigurationError, `${error}`);
    assert.equal(error.code, "invalid_option");
    assert.equal(error.kind, "configuration");
    assert.equal(error.field, option);
    assert.ok(typeof error.expected === "string" && error.expected.length > 0);
    assert.ok(error.message.includes(option) && error.message.includes(error.expected), error.message);
    for (const value of values) assert.ok(!error.message.includes(String(value)), `${error.message} shows ${value}`);
    return true;
  };
}

test("options that are not an object", () => {
  for (const create of Object.values(creators)) assert.throws(() => create({ ...base, options: 17 }), refused("options", [17]));
  assert.throws(() => new telhook.Receiver("lisoloo", credentials, "1mb"), refused("options", ["1mb"]));
});

test("options.max_body (a typo of max_body_bytes)", () => {
  for (const create of Object.values(creators)) {
    assert.throws(() => create({ ...base, options: { max_body: 17 } }), (e) => refused("max_body", [17])(e) && /max_body_bytes/.test(e.expected));
  }
  assert.throws(() => telhook.normalizeEvent("lisoloo", { body: "{}" }, credentials, { max_body: 17 }), refused("max_body", [17]));
});

test("options.max_body_bytes: a negative, text, fractional, NaN or zero cap", () => {
  for (const value of [-1, "1mb", 1.5, Number.NaN, 0, true]) {
    const shown = typeof value === "number" && value !== 0 ? [String(value)] : typeof value === "string" ? [value] : [];
    for (const create of Object.values(creators)) {
      assert.throws(() => create({ ...base, options: { max_body_bytes: value } }), refused("max_body_bytes", shown), String(value));
    }
    assert.throws(() => telhook.verify("lisoloo", { body: "{}" }, credentials, { max_body_bytes: value }), refused("max_body_bytes", shown));
  }
  assert.doesNotThrow(() => telhook.createHandler({ ...base, options: { max_body_bytes: 1 } }));
});

test("clock: returning undefined, unreadable text or an object", () => {
  for (const reading of [undefined, "five o'clock", {}]) {
    for (const create of Object.values(creators)) {
      assert.throws(() => create({ ...base, clock: () => reading }), refused("clock", ["five o'clock"]));
    }
    assert.throws(() => telhook.memoryStore({ clock: () => reading }), refused("clock", ["five o'clock"]));
  }
  // Milliseconds are a number in the wrong unit: invalid_clock, which says so.
  assert.throws(() => telhook.createHandler({ ...base, clock: () => Date.now() }), (e) => e instanceof telhook.ConfigurationError && e.code === "invalid_clock");
});

for (const [option, bad] of [
  ["leaseSecs", [0, -1, 1.5, "300", Number.NaN]],
  ["dedupeTtlSecs", [0, -1, 1.5, "1h", Number.NaN]],
  ["storeDeadlineMs", [0, 60_001, 2.5, "1s", Number.NaN]],
]) {
  test(`${option}: ${bad.map(String).join(", ")}`, () => {
    for (const [name, create] of Object.entries(creators)) {
      for (const value of bad) {
        const shown = typeof value === "string" || (typeof value === "number" && Math.abs(value) > 1) ? [String(value)] : [];
        assert.throws(() => create({ ...base, store: telhook.memoryStore(), [option]: value }), (e) => refused(option, shown)(e) && e.message.startsWith(`${name}: `));
      }
    }
  });
}

test("a provider that is not a name is the caller's TypeError, as in Python, never a wasm trap", () => {
  for (const provider of [5, true, {}, ["lisoloo"], 0n]) {
    for (const call of [
      () => new telhook.Receiver(provider, credentials),
      () => telhook.normalizeEvent(provider, { headers: {}, body: "{}" }, credentials),
      () => telhook.verify(provider, { headers: {}, body: "{}" }, credentials),
      ...Object.values(creators).map((create) => () => create({ ...base, provider })),
    ]) {
      assert.throws(call, (error) => error instanceof TypeError && /provider must be/.test(error.message));
    }
  }
  // The module still answers afterwards.
  assert.ok(new telhook.Receiver("lisoloo", credentials));
});
