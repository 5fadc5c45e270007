// Bundles the entry points around the wasm-bindgen glue in ../wasm/ (run after `make wasm`):
//   dist/node.cjs       Node/Bun require: reads the .wasm next to it, or (bundled apps) the
//                       bytes inlined in dist/node-wasm.cjs
//   dist/node.mjs       Node/Bun import: re-exports node.cjs, so require and import share one
//                       instance (one TelhookError class, one cache); loads it through
//                       createRequire (see below)
//   dist/node-bundler.mjs  the same for bundlers (the "module" condition): a static import of
//                       node.cjs that esbuild, webpack and rollup follow
//   dist/portable.mjs   browsers, Deno, bundlers, any other ESM host: wasm bytes inlined
//   dist/workerd.mjs    Cloudflare Workers: imports the .wasm as a module (wrangler's way)
//   dist/edge-light.mjs Vercel Edge: imports the .wasm with `?module` (Next.js' way)
//   dist/testing.{mjs,cjs}  telhook/testing, on its own wasm module (telhook_wasm_kit_bg.wasm):
//                       the signing and sample code is not in the module a receiver loads
import { build } from "esbuild";
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { gzipSync } from "node:zlib";
import { providerRequests, WARM_UP_PROVIDERS } from "./warm-up-requests.mjs";

const dist = new URL("../dist/", import.meta.url);
rmSync(dist, { recursive: true, force: true });
mkdirSync(dist, { recursive: true });
// The receiver's module, and the test kit's (loaded by telhook/testing only).
const MODULES = ["telhook_wasm_bg.wasm", "telhook_wasm_kit_bg.wasm"];
for (const name of MODULES) copyFileSync(new URL(`../wasm/${name}`, import.meta.url), new URL(name, dist));
copyFileSync(new URL("../types/index.d.ts", import.meta.url), new URL("../types/index.d.cts", import.meta.url));
// CommonJS TypeScript reads telhook/testing's types from a .d.cts (TS1471 otherwise), which
// imports the package's CommonJS types.
writeFileSync(
  new URL("../types/testing.d.cts", import.meta.url),
  readFileSync(new URL("../types/testing.d.ts", import.meta.url), "utf8").replace('from "./index.js"', 'from "./index.cjs"'),
);
// One LICENSE file for npm, made from the repository's two license texts.
const license = (name) => readFileSync(new URL(`../../${name}`, import.meta.url), "utf8");
const rule = "\n" + "=".repeat(80) + "\n\n";
writeFileSync(
  new URL("../LICENSE", import.meta.url),
  "telhook is licensed under either of the MIT license or the Apache License, Version 2.0, at\n" +
    "your option (SPDX: MIT OR Apache-2.0). Both texts follow.\n" +
    rule + license("LICENSE-MIT") + rule + license("LICENSE-APACHE"),
);

// The Workers and Vercel Edge entries' start-up warm-up (src/warm-up.mjs): see warm-up-requests.mjs.
const everyProvider = providerRequests();
const warmUp = everyProvider.filter((c) => WARM_UP_PROVIDERS.includes(c.value.provider));
const warmUpPlugin = {
  name: "telhook-warm-up",
  setup(b) {
    b.onResolve({ filter: /^telhook:warm-up-requests$/ }, (args) => ({ path: args.path, namespace: "telhook-warm-up" }));
    b.onLoad({ filter: /.*/, namespace: "telhook-warm-up" }, () => ({
      contents: JSON.stringify(warmUp.map((c) => c.value)),
      loader: "json",
    }));
  },
};

const common = { bundle: true, target: "es2022", logLevel: "warning", legalComments: "none" };
const inlined = { ...common, loader: { ".wasm": "binary" } };
await build({
  ...common,
  entryPoints: ["src/node.mjs"],
  outfile: "dist/node.cjs",
  format: "cjs",
  platform: "node",
  external: ["./node-wasm.cjs"],
  // The glue's unused async loader mentions import.meta; this bundle never runs it.
  logOverride: { "empty-import-meta": "silent" },
});
// module.exports = the bytes, for node.cjs's fallback.
await build({ ...inlined, entryPoints: ["src/node-wasm.mjs"], outfile: "dist/node-wasm.cjs", format: "cjs", platform: "node", footer: { js: "module.exports = module.exports.default;" } });
// telhook/testing (Node): its own bundle; the error classes come from the package itself.
await build({ ...common, entryPoints: ["src/testing.mjs"], outfile: "dist/testing.mjs", format: "esm", platform: "node", external: ["telhook"] });
// testing.mjs finds its .wasm from import.meta.url; in the CommonJS bundle that URL is the file's own.
await build({
  ...common,
  entryPoints: ["src/testing.mjs"],
  outfile: "dist/testing.cjs",
  format: "cjs",
  platform: "node",
  external: ["telhook"],
  define: { "import.meta.url": "__telhookTestingUrl" },
  banner: { js: 'const __telhookTestingUrl = require("node:url").pathToFileURL(__filename).href;' },
});
await build({ ...inlined, entryPoints: ["src/portable.mjs"], outfile: "dist/portable.mjs", format: "esm", platform: "neutral" });
for (const [entry, wasmImport] of [
  ["workerd", "./telhook_wasm_bg.wasm"],
  ["edge-light", "./telhook_wasm_bg.wasm?module"],
]) {
  await build({
    ...common,
    entryPoints: [`src/${entry}.mjs`],
    outfile: `dist/${entry}.mjs`,
    format: "esm",
    platform: "neutral",
    external: [wasmImport],
    plugins: [warmUpPlugin],
  });
}

// The ESM face of node.cjs: every export named explicitly, so that Node, Bun and bundlers all
// see static names without relying on CommonJS export detection.
// Node loads node.cjs through createRequire: an `import` of a CommonJS file makes Node's ESM
// loader scan its source for export names (cjs-module-lexer over ~40 KB), which cost ~20 ms of
// every first import (54 -> 34 ms for import + first normalize, measured in one process).
// Bundlers do not follow createRequire, so they get node-bundler.mjs through the "module"
// condition (esbuild, webpack and rollup resolve it; Node ignores it).
const nodeBundle = createRequire(import.meta.url)("../dist/node.cjs");
const names = Object.keys(nodeBundle).sort();
// Every provider has a request (bench/node/startup.mjs times each one's first request after a
// cold start), and every one normalizes: a vector that no longer does would warm up nothing.
for (const provider of readdirSync(new URL("../../tests/vectors/", import.meta.url))) {
  let known = true;
  try {
    nodeBundle.retryPolicy(provider);
  } catch {
    known = false;
  }
  if (known && !everyProvider.some((c) => c.value.provider === provider)) throw new Error(`no warm-up request for ${provider}`);
}
for (const { file, value } of everyProvider) {
  const { provider, credentials, request, now } = value;
  new nodeBundle.Receiver(provider, credentials).normalize(request, { now });
  if (WARM_UP_PROVIDERS.includes(provider)) console.log(`warm-up (workerd, edge-light): ${provider}/${file}`);
}
if (warmUp.length !== WARM_UP_PROVIDERS.length) throw new Error("a warm-up provider has no request");
// The warm-up's delivery (warmUpDelivery, not exported by the package) must reach a success for
// each provider's request: bundled like node.cjs, with it exported, run once and removed.
await build({
  ...common,
  stdin: { contents: 'export * from "./node.mjs"; export { warmUpDelivery } from "./receive.mjs";', resolveDir: "src", loader: "js" },
  outfile: "dist/warm-up-check.cjs",
  format: "cjs",
  platform: "node",
  external: ["./node-wasm.cjs"],
  logOverride: { "empty-import-meta": "silent" },
});
try {
  const { warmUpDelivery } = createRequire(import.meta.url)("../dist/warm-up-check.cjs");
  for (const { file, value } of everyProvider) {
    for (const answer of warmUpDelivery(value)) {
      if (answer.status < 200 || answer.status > 299) throw new Error(`warm-up delivery of ${value.provider}/${file} answered ${answer.status} ${answer.code}`);
    }
  }
} finally {
  rmSync(new URL("warm-up-check.cjs", dist));
}
const reexport = `export const { ${names.join(", ")} } = telhook;\n`;
writeFileSync(
  new URL("node.mjs", dist),
  `// Generated by scripts/build.mjs: one instance shared with require("telhook").\n` +
    `import { createRequire } from "node:module";\n\n` +
    `const telhook = createRequire(import.meta.url)("./node.cjs");\n` +
    reexport,
);
writeFileSync(
  new URL("node-bundler.mjs", dist),
  `// Generated by scripts/build.mjs: node.mjs for bundlers, which follow this static import.\n` +
    `import telhook from "./node.cjs";\n\n` +
    reexport,
);

// Each module's size; the receiver's has a budget (npm/test/packaging.test.mjs checks it).
for (const name of MODULES) {
  const wasm = readFileSync(new URL(name, dist));
  console.log(`${name}: ${wasm.length} bytes raw, ${gzipSync(wasm, { level: 9 }).length} bytes gzipped`);
}
