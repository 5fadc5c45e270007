// Node and Bun entry (bundled to dist/node.cjs; dist/node.mjs re-exports it, so import and
// require share one instance). The .wasm bytes are inlined by scripts/build.mjs (esbuild's
// binary loader): no file is read at run time, so an esbuild/webpack bundle or a single-file
// executable cannot lose the .wasm.
import wasmBytes from "../wasm/telhook_wasm_bg.wasm";
import { initSync } from "../wasm/telhook_wasm.js";
import { useTokenSource } from "./receive.mjs";

initSync({ module: wasmBytes });
// Node 18 has no global crypto: there the claim tokens come from node:crypto. Required only
// then, so that an app bundled to ESM (where a CommonJS require of node:crypto cannot run)
// works on every Node with a global crypto.
if (typeof globalThis.crypto?.randomUUID !== "function") {
  useTokenSource(require("node:crypto").randomUUID);
}

export * from "./exports.mjs";
