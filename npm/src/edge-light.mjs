// Vercel Edge (the "edge-light" condition) compiles no WebAssembly from bytes at run time: a
// .wasm must be imported with `?module`, which Next.js and Vercel turn into a precompiled
// WebAssembly.Module binding. Instantiated synchronously: no top-level await, no node:fs.
import wasmModule from "./telhook_wasm_bg.wasm?module";
import { initSync } from "../wasm/telhook_wasm.js";
import { warmUp } from "./warm-up.mjs";

initSync({ module: wasmModule });
// Compiles at start-up the wasm functions a request runs (see warm-up.mjs).
warmUp();

export * from "./exports.mjs";
