// Node entry (ESM and, bundled by esbuild, CommonJS): loads the wasm synchronously from disk.
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { initSync } from "../wasm/telhook_wasm.js";
import { useTokenSource } from "./receive.mjs";

const wasmPath =
  typeof __dirname === "string"
    ? `${__dirname}/telhook_wasm_bg.wasm`
    : fileURLToPath(new URL("./telhook_wasm_bg.wasm", import.meta.url));
initSync({ module: readFileSync(wasmPath) });
useTokenSource(randomUUID);

export * from "./api.mjs";
export { ackForError, createHandler, createNodeMiddleware } from "./receive.mjs";
export { durableObjectStore, memoryStore, TelhookDedupeObject } from "./stores.mjs";
export * from "./ledger.mjs";
