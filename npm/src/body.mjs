// Reading a request body with the size cap enforced while it streams in: a body over the cap
// is never held in memory. A declared Content-Length is the receive machine's to judge (its
// start step answers before anything is read); the readers only count what arrives.

/** Returned instead of the bytes when the body is larger than the cap. */
export const TOO_LARGE = Symbol("body too large");
/** Returned when a body parser mounted before the middleware consumed the stream. */
export const RAW_BODY_GONE = Symbol("raw body gone");
/** The client went away before its body was complete: nobody is left to answer. */
export class ClientGone extends Error {
  constructor() {
    super("the client closed the connection before the body was complete");
    this.name = "ClientGone";
  }
}

/** The chunks as one Uint8Array; a single chunk is returned as is (no copy). */
function joinChunks(chunks, total) {
  if (chunks.length === 1) return chunks[0];
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}

/** The body of a Fetch API Request, TOO_LARGE (the stream is cancelled, not drained) or RAW_BODY_GONE. */
export async function readFetchBody(request, cap) {
  if (request.body === null) return new Uint8Array(0);
  // Read before telhook was called (Hono's `c.req.json()` on `c.req.raw`): the bytes are gone.
  if (request.bodyUsed) return RAW_BODY_GONE;
  const reader = request.body.getReader();
  const chunks = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return joinChunks(chunks, total);
    total += value.byteLength;
    if (total > cap) {
      // Not awaited: a client still sending must not hold the answer back.
      reader.cancel().catch(() => {});
      return TOO_LARGE;
    }
    chunks.push(value);
  }
}

const encoder = new TextEncoder();

/**
 * What a body parser mounted before the middleware left of the raw bytes: a Buffer/Uint8Array
 * (express.raw(), or `req.rawBody` kept by a `verify` callback or by Firebase/Google Cloud
 * Functions) or a string (express.text(), or `req.rawBody` kept as text). `null` when there is
 * nothing usable.
 */
function rawBodyLeftByParser(req) {
  if (req.rawBody instanceof Uint8Array) return req.rawBody;
  // `verify: (req, res, buf, encoding) => { req.rawBody = buf.toString(encoding) }`, as many
  // tutorials keep it: a JSON body is UTF-8 text, so its bytes are that text's.
  if (typeof req.rawBody === "string") return asSentText(req, req.rawBody);
  if (req.body instanceof Uint8Array) return req.body;
  if (typeof req.body === "string") return asSentText(req, req.body);
  return null;
}

/**
 * `text`'s UTF-8 bytes, when they are as long as the Content-Length the request declared (or it
 * declared none); else `null`, answered as a body that is gone (500, retried). A text kept in
 * another encoding (latin1, base64) is not the bytes sent: read as them, it was a 401 or a 400,
 * which Lisoloo takes as "drop the event" (a review). A body sent with a Content-Encoding was
 * inflated by the parser that kept the text, so its Content-Length counts other bytes: not
 * compared (it made every gzipped delivery a 500).
 */
function asSentText(req, text) {
  const bytes = encoder.encode(text);
  const declared = req.headers?.["content-length"];
  const coding = req.headers?.["content-encoding"];
  const coded = typeof coding === "string" && !/^\s*(identity)?\s*$/i.test(coding);
  const comparable = !coded && typeof declared === "string" && /^\d+$/.test(declared);
  if (comparable && Number(declared) !== bytes.byteLength) return null;
  if (!comparable) unconfirmedTexts.add(bytes);
  return bytes;
}

/**
 * A parser's text whose length nothing confirmed (sent chunked, or compressed): its decoding may
 * have changed the bytes (a decoder drops a UTF-8 byte-order mark, which .NET senders write).
 * A refusal of it is answered as a body that is gone, not as a forgery (review: express.text()
 * and a chunked delivery with a BOM was a 401, which Lisoloo takes as "drop the event").
 */
const unconfirmedTexts = new WeakSet();

export function isUnconfirmedText(body) {
  return typeof body === "object" && body !== null && unconfirmedTexts.has(body);
}

/**
 * Whether the stream was consumed by someone else: body-parser 1 marks `req._body`; any reader
 * to the end leaves `readableEnded`, or a complete message that is no longer readable (the
 * test body-parser 2 uses).
 */
function streamConsumed(req) {
  return req._body === true || req.readableEnded === true || (req.complete === true && req.readable === false);
}

/** How long a connection answered mid-upload keeps reading (and discarding) before it closes. */
const LINGER_MS = 2000;

/** Connections closing after an answer that said `Connection: close`. */
const lingering = new WeakSet();

/**
 * Whether `socket` is closing after an answer that said `Connection: close`: a request read from
 * it now (one the client pipelined) must not be processed (RFC 9112 §9.6), and could not be
 * answered.
 */
export function isLingering(socket) {
  return socket !== null && socket !== undefined && lingering.has(socket);
}

/**
 * Closes `socket` the way RFC 9112 §9.6 asks once an answer went out before the body was read:
 * half-close, keep reading and discarding until the client closes or LINGER_MS pass, then close.
 * Node's server closes at once, and closing with unread input makes the kernel reset the
 * connection: a client still sending its body then gets EPIPE/ECONNRESET and may never read
 * the 413 (2 % of keep-alive uploads on loopback lost it). Node's server ends a connection it
 * will not keep through `socket.destroySoon()`; this replaces that one method on this socket
 * only, so a Node that stops calling it falls back to its own immediate close. While it
 * lingers, Node's parser still reads (the rest of the body is discarded as it arrives), so a
 * request the client pipelined after the 413 still reaches the server: `isLingering` tells the
 * middleware to leave it unprocessed.
 */
export function lingerOnClose(socket) {
  if (socket === null || socket === undefined || typeof socket.destroySoon !== "function") return;
  socket.destroySoon = function lingeringClose() {
    lingering.add(socket);
    const timer = setTimeout(() => socket.destroy(), LINGER_MS);
    timer.unref?.();
    socket.once("close", () => clearTimeout(timer));
    socket.once("end", () => socket.destroy());
    socket.end();
    socket.resume();
  };
}

/**
 * The body of a Node `http.IncomingMessage` (or Express request), TOO_LARGE, or RAW_BODY_GONE
 * when a body parser already consumed the stream and kept no raw bytes.
 */
export function readNodeBody(req, cap) {
  const left = rawBodyLeftByParser(req);
  if (left !== null) return Promise.resolve(left.byteLength > cap ? TOO_LARGE : left);
  if (streamConsumed(req)) return Promise.resolve(RAW_BODY_GONE);
  return new Promise((resolve, reject) => {
    const chunks = [];
    let total = 0;
    const cleanup = () => {
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("error", onError);
      req.off("close", onClose);
    };
    const onData = (chunk) => {
      const bytes = typeof chunk === "string" ? encoder.encode(chunk) : chunk;
      total += bytes.byteLength;
      if (total > cap) {
        cleanup();
        // Keep the stream flowing with no listener: the rest is discarded as it arrives (never
        // buffered), and the client, which may not read the answer before it has sent
        // everything, is not left blocked on a full TCP window.
        req.resume();
        resolve(TOO_LARGE);
        return;
      }
      chunks.push(bytes);
    };
    const onEnd = () => {
      cleanup();
      resolve(joinChunks(chunks, total));
    };
    const onError = (error) => {
      cleanup();
      // Node reports a client that hung up mid-body as an "aborted" ECONNRESET, then a close.
      reject(error?.code === "ECONNRESET" ? new ClientGone() : error);
    };
    const onClose = () => {
      cleanup();
      reject(new ClientGone());
    };
    req.on("data", onData);
    req.on("end", onEnd);
    req.on("error", onError);
    req.on("close", onClose);
  });
}
