// Entry for browsers, Deno and any other ESM host that may compile WebAssembly from bytes:
// the .wasm bytes are inlined (as in node.mjs) and nothing from node: is imported.
import wasmBytes from "../wasm/telhook_wasm_bg.wasm";
import { initSync } from "../wasm/telhook_wasm.js";

initSync({ module: wasmBytes });

export * from "./exports.mjs";
