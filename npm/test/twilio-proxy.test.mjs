// Twilio behind a reverse proxy (issue 25): Twilio signs the public URL it calls
// (https://hooks.example.com/twilio/sms); the app behind the proxy is reached at
// http://127.0.0.1:<port>/twilio/sms. A real proxy (node:http, forwarding like nginx with
// X-Forwarded-Proto/-Host) in front of the Node middleware: the delivery passes with the
// public_url option or trusted forwarded headers, and without either it is refused with a
// message naming the URL that was checked.
import { test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { createHmac } from "node:crypto";
import * as telhook from "telhook";

const TOKEN = "twilio-AUTH-token-proxy-test-0c1d";
const PUBLIC_URL = "https://hooks.example.com/twilio/sms";
const PARAMS = [
  ["MessageSid", "SM0123456789abcdef0123456789abcdef"],
  ["MessageStatus", "delivered"],
  ["SmsStatus", "delivered"],
  ["From", "+15017122661"],
  ["To", "+15558675310"],
];

// Twilio's algorithm, written here (node:crypto) independently of the core.
function twilioSignature(token, url, params) {
  const sorted = [...params].sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0));
  const signed = url + sorted.map(([name, value]) => name + value).join("");
  return createHmac("sha1", token).update(signed).digest("base64");
}

async function listen(handler) {
  const server = http.createServer(handler);
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return server;
}

// The proxy: forwards method, path, headers and body to the app, adding what nginx adds.
function proxyTo(appPort) {
  return (req, res) => {
    const upstream = http.request(
      {
        host: "127.0.0.1",
        port: appPort,
        method: req.method,
        path: req.url,
        headers: {
          ...req.headers,
          host: `127.0.0.1:${appPort}`,
          "x-forwarded-proto": "https",
          "x-forwarded-host": "hooks.example.com",
        },
      },
      (answer) => {
        res.writeHead(answer.statusCode, answer.headers);
        answer.pipe(res);
      },
    );
    req.pipe(upstream);
  };
}

async function deliverThroughProxy(options) {
  const errors = [];
  const events = [];
  const middleware = telhook.createNodeMiddleware({
    provider: "twilio",
    credentials: { auth_token: TOKEN },
    store: null,
    options,
    onEvent: (event) => {
      events.push(event);
    },
    onError: (error) => {
      errors.push(error);
    },
  });
  const app = await listen((req, res) => middleware(req, res));
  const proxy = await listen(proxyTo(app.address().port));
  try {
    const body = new URLSearchParams(PARAMS).toString();
    const response = await fetch(`http://127.0.0.1:${proxy.address().port}/twilio/sms`, {
      method: "POST",
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        "x-twilio-signature": twilioSignature(TOKEN, PUBLIC_URL, PARAMS),
      },
      body,
    });
    // Twilio's 2xx answers are TwiML (the code in a comment), the others JSON.
    const text = await response.text();
    const answer = response.ok ? { outcome: /<!-- telhook: ([a-z_]+) -->/.exec(text)?.[1] } : JSON.parse(text);
    return { status: response.status, body: answer, errors, events, appPort: app.address().port };
  } finally {
    await new Promise((resolve) => proxy.close(resolve));
    await new Promise((resolve) => app.close(resolve));
  }
}

test("Twilio behind a proxy: accepted with public_url (the URL set in Twilio's console)", async () => {
  const result = await deliverThroughProxy({ public_url: PUBLIC_URL });
  assert.equal(result.status, 200, JSON.stringify(result.body));
  assert.equal(result.events.length, 1);
  assert.equal(result.events[0].id, "twilio:SM0123456789abcdef0123456789abcdef:delivered");
});

test("Twilio behind a proxy: accepted with trusted X-Forwarded-Proto/-Host", async () => {
  const result = await deliverThroughProxy({ trust_forwarded_headers: true });
  assert.equal(result.status, 200, JSON.stringify(result.body));
  assert.equal(result.events.length, 1);
});

test("Twilio behind a proxy: without the option, refused, and the error names the URL checked", async () => {
  const result = await deliverThroughProxy({});
  assert.equal(result.status, 401);
  assert.deepStrictEqual(result.body, { error: "signature_mismatch" });
  assert.equal(result.events.length, 0);
  assert.equal(result.errors.length, 1);
  const message = result.errors[0].message;
  assert.match(message, new RegExp(`https://127\\.0\\.0\\.1:${result.appPort}/twilio/sms`));
  assert.match(message, /public_url/);
  assert.doesNotMatch(message, new RegExp(TOKEN));
});
