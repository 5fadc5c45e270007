// Node entry (ESM and, bundled by esbuild, CommonJS): loads the wasm synchronously from disk.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { initSync } from "../wasm/telhook_wasm.js";

const wasmPath =
  typeof __dirname === "string"
    ? `${__dirname}/telhook_wasm_bg.wasm`
    : fileURLToPath(new URL("./telhook_wasm_bg.wasm", import.meta.url));
initSync({ module: readFileSync(wasmPath) });

export * from "./api.mjs";
export { ackForError, createHandler, createNodeMiddleware } from "./receive.mjs";
export { durableObjectStore, memoryStore, TelhookDedupeObject } from "./stores.mjs";
