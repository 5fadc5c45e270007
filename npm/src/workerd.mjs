// Cloudflare Workers entry: the .wasm is imported as a compiled WebAssembly.Module (the Workers
// way) and instantiated synchronously — no top-level await, no fs, no Node crypto.
import wasmModule from "./telhook_wasm_bg.wasm";
import { initSync } from "../wasm/telhook_wasm.js";
import { warmUp } from "./warm-up.mjs";

initSync({ module: wasmModule });
// Compiles at start-up the wasm functions a request runs (see warm-up.mjs).
warmUp();

export * from "./exports.mjs";
