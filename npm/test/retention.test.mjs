// What a delivery leaves alive: the middleware's caches must not keep an event's text (its
// `raw`, the body's content) after the delivery is answered.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { Readable } from "node:stream";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { createNodeMiddleware } from "telhook";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc");

test("a delivery's event text is not kept alive once it is answered (512 KiB body)", async () => {
  const secret = "a-limephone-secret-for-the-test";
  const body = JSON.stringify({
    event: "sms_received",
    message_id: "1",
    virtual_number: "+15551234567",
    sender_number: "+15557654321",
    message_content: "y".repeat(512 * 1024),
  });
  const signature = createHmac("sha256", secret).update(body).digest("hex");
  let handled = 0;
  const middleware = createNodeMiddleware({
    provider: "limephone",
    credentials: { hmac_sha256: secret },
    store: null,
    clock: () => 1769000000,
    onEvent: async (event) => {
      handled += event.message.text.length > 0 ? 1 : 0;
    },
  });
  gc();
  const before = process.memoryUsage().heapUsed;
  const req = Object.assign(Readable.from([Buffer.from(body)]), {
    method: "POST",
    url: "/",
    rawHeaders: ["X-LimePhone-Signature", signature],
    headers: {},
    socket: {},
  });
  const res = { statusCode: 0, setHeader() {}, end() {} };
  await middleware(req, res);
  gc();
  gc();
  const kept = process.memoryUsage().heapUsed - before;
  assert.equal(res.statusCode, 200);
  assert.equal(handled, 1);
  // The message text is ~1 MiB (one string, in `message.text` and in `raw`).
  assert.ok(kept < 256 * 1024, `${kept} bytes still live after the delivery`);
});
