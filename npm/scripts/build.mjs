// Bundles the three entry points (Node ESM, Node CJS, workerd) around the wasm-bindgen glue
// in ../wasm/ and copies the .wasm beside them. Run after `make wasm` has produced ../wasm/.
import { build } from "esbuild";
import { copyFileSync, mkdirSync, statSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { readFileSync } from "node:fs";

const dist = new URL("../dist/", import.meta.url);
mkdirSync(dist, { recursive: true });
copyFileSync(new URL("../wasm/telhook_wasm_bg.wasm", import.meta.url), new URL("telhook_wasm_bg.wasm", dist));
copyFileSync(new URL("../types/index.d.ts", import.meta.url), new URL("../types/index.d.cts", import.meta.url));

const common = { bundle: true, platform: "neutral", target: "es2022", logLevel: "warning", legalComments: "none" };
await build({ ...common, entryPoints: ["src/node.mjs"], outfile: "dist/node.mjs", format: "esm", platform: "node" });
await build({
  ...common,
  entryPoints: ["src/node.mjs"],
  outfile: "dist/node.cjs",
  format: "cjs",
  platform: "node",
  // import.meta is only read when __dirname is absent, i.e. never in the CJS bundle.
  logOverride: { "empty-import-meta": "silent" },
});
// telhook/testing (Node): its own bundle; the error classes come from the package itself.
await build({ ...common, entryPoints: ["src/testing.mjs"], outfile: "dist/testing.mjs", format: "esm", platform: "node", external: ["telhook"] });
await build({
  ...common,
  entryPoints: ["src/testing.mjs"],
  outfile: "dist/testing.cjs",
  format: "cjs",
  platform: "node",
  external: ["telhook"],
  logOverride: { "empty-import-meta": "silent" },
});
await build({
  ...common,
  entryPoints: ["src/workerd.mjs"],
  outfile: "dist/workerd.mjs",
  format: "esm",
  external: ["./telhook_wasm_bg.wasm"],
});

const wasm = readFileSync(new URL("telhook_wasm_bg.wasm", dist));
console.log(`telhook.wasm: ${wasm.length} bytes raw, ${gzipSync(wasm, { level: 9 }).length} bytes gzipped`);
