// Node and Bun entry (bundled to dist/node.cjs; dist/node.mjs re-exports it, so import and
// require share one instance). The .wasm bytes are inlined by scripts/build.mjs (esbuild's
// binary loader): no file is read at run time, so an esbuild/webpack bundle or a single-file
// executable cannot lose the .wasm.
import { randomUUID } from "node:crypto";
import wasmBytes from "../wasm/telhook_wasm_bg.wasm";
import { initSync } from "../wasm/telhook_wasm.js";
import { useTokenSource } from "./receive.mjs";

initSync({ module: wasmBytes });
// Node 18 has no global crypto; the dedupe claim tokens come from node:crypto there.
useTokenSource(randomUUID);

export * from "./exports.mjs";
