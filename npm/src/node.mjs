// Node and Bun entry (bundled to dist/node.cjs; dist/node.mjs re-exports it, so import and
// require share one instance). The .wasm is read from the file next to this bundle: parsing
// the bytes inlined as a JS string cost ~15 ms of every first import, and Node's scan of the
// bundle for CommonJS export names (an `import` of node.cjs) another ~18 ms. When that file is not there — an esbuild/webpack bundle of
// an app, a single-file executable — the bytes come from dist/node-wasm.cjs, which such a
// bundler includes through the static require below, so it cannot lose the .wasm.
import { initSync } from "../wasm/telhook_wasm.js";
import { useTokenSource } from "./receive.mjs";

// `require`, not `import`, of node:fs: an app bundled to ESM cannot run a CommonJS require of
// a builtin, and lands in the fallback instead of failing to load.
function wasmBytes() {
  try {
    return require("node:fs").readFileSync(require("node:path").join(__dirname, "telhook_wasm_bg.wasm"));
  } catch {
    return require("./node-wasm.cjs");
  }
}

initSync({ module: wasmBytes() });
// Node 18 has no global crypto: there the claim tokens come from node:crypto. Required only
// then, so that an app bundled to ESM (where a CommonJS require of node:crypto cannot run)
// works on every Node with a global crypto. Looked up at the first token, not here: Node's
// `globalThis.crypto` getter loads Web Crypto (37 internal modules, ~2.3 ms) on first access,
// which every import paid though only a delivery with a store or an inbox draws a token.
let randomUUID;
useTokenSource(() => {
  randomUUID ??=
    typeof globalThis.crypto?.randomUUID === "function" ? () => globalThis.crypto.randomUUID() : require("node:crypto").randomUUID;
  return randomUUID();
});

export * from "./exports.mjs";
