// The public API, listed once for every entry point (each entry only loads the wasm its way).
export * from "./api.mjs";
export { ackForError, createHandler, createNodeMiddleware } from "./receive.mjs";
export { durableObjectStore, memoryStore, redisStore, TelhookDedupeObject } from "./stores.mjs";
export * from "./ledger.mjs";
export { bullmqInbox, consumeInbox, inboxPolicy, inboxRetryDelaySecs, memoryInbox, queueInbox } from "./inbox.mjs";
