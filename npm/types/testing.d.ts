// telhook/testing: signed sample webhooks for tests, `parse` (a body's typed payload) and
// `fromHttpCapture` (a capture to replay). It runs in Node, Bun and Deno (it reads its .wasm from
// disk), not in Workers or edge runtimes. Its types need no DOM or Node types (lib es2022 is
// enough); `toRequest` gives the host's `Request` where its types are loaded.
// types/testing.d.cts, for CommonJS TypeScript, is made from this file by scripts/build.mjs.
import type { AuthScheme, Credentials, HostRequest, ProviderName, WebhookRequest } from "./index.js";

/** One request as the provider sends it. */
export interface SignedRequest {
  method: string;
  /** A path with the query the scheme needs (the DID reseller's URL token), or the full URL signed for (`SignOptions.url`). */
  url: string;
  headers: Record<string, string>;
  body: Uint8Array;
  /** `base` (absolute URL or path) with this request's query appended; default (signed with `url`): that URL. */
  urlFor(base?: string): string;
  /** The same request as a Fetch `Request` aimed at `base` (an absolute URL); default (signed with `url`): that URL. */
  toRequest(base?: string): HostRequest;
}

/** The core's authentication schemes, named like the credentials fields. */
export type Scheme = AuthScheme;

export interface SignOptions {
  /** One of `eventKinds(provider)`; default: the first. Ignored when `body` is given. */
  eventKind?: string;
  /** Your own body instead of a sample. */
  body?: Uint8Array | string;
  /**
   * Merged into the sample (JSON merge patch). Each sample is a new event (a fresh event id,
   * or message id where that keys the event); name the id here to pin it.
   */
  overrides?: Record<string, unknown>;
  credentials: Credentials;
  /** UNIX seconds or a Date; default: the host clock. */
  now?: number | Date;
  /**
   * Sign with this scheme only; default: every scheme `credentials` configure, except that
   * Twilio signs with one (the Auth Token when both it and a `shared_key` are configured).
   */
  scheme?: Scheme;
  /**
   * The receiver's full URL (its `public_url` when it has one): what Twilio signs. Without
   * it a Twilio request is signed for `https://telhook.test/` (path `/`, a `Host` header).
   */
  url?: string;
  /**
   * How the parameters travel: "form" (a form POST) or "query" (a GET) sends a flat JSON
   * body's parameters the way Vonage's SMS API may; default "body", the provider's usual body.
   */
  transport?: "body" | "form" | "query";
}

export function eventKinds(provider: ProviderName): string[];
/** A sample body: a new event on every call unless `overrides` names its id. */
export function sample(provider: ProviderName, eventKind?: string, overrides?: Record<string, unknown>): Uint8Array;
export function signedRequest(provider: ProviderName, options: SignOptions): SignedRequest;
/** The provider's typed payload of a body, not verified; secrets redacted. To inspect a body, not to receive one. */
export function parse(provider: ProviderName, body: Uint8Array | ArrayBuffer | string): { [field: string]: unknown };
/** A raw HTTP/1.1 capture (request line, headers, body) as a request, e.g. to replay one. */
export function fromHttpCapture(capture: Uint8Array | ArrayBuffer | string): WebhookRequest & { body: Uint8Array };
