// What bench.mjs and startup.mjs share to run telhook inside workerd: a Worker bundled as
// wrangler would (the `workerd` export of the package, the .wasm imported as a compiled module
// beside it) and the Miniflare options that load it.
import { copyFileSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const WASM = "telhook_wasm_bg.wasm";
const here = (p) => fileURLToPath(new URL(p, import.meta.url));

/** Bundles `dir/<entry>` to `dir/<outfile>` and puts the package's .wasm beside it. */
export async function bundleWorker(dir, entry, outfile) {
  await build({
    entryPoints: [join(dir, entry)],
    outfile: join(dir, outfile),
    bundle: true,
    format: "esm",
    platform: "neutral",
    conditions: ["workerd", "worker"],
    alias: { telhook: here("../../npm/dist/workerd.mjs") },
    plugins: [{ name: "wasm", setup(b) { b.onResolve({ filter: /\.wasm$/ }, () => ({ path: `./${WASM}`, external: true })); } }],
    logLevel: "error",
  });
  copyFileSync(here(`../../npm/dist/${WASM}`), join(dir, WASM));
}

/**
 * Miniflare options that run the bundled Worker `dir/<script>`, its modules listed with their
 * contents as `wrangler dev` passes them (workers-sdk, wrangler/src/dev/miniflare.ts
 * `buildSourceOptions`). Given a `scriptPath` and module rules instead, Miniflare finds the
 * imports by parsing the script with acorn in Node before it starts workerd: 1.7-2.8 ms for the
 * 35 KB telhook Worker (warm), which the cold start counted as workerd's (bench/PROFILE.md,
 * fifteenth session). Read here, before the caller starts its clock, as wrangler reads its bundle.
 */
export function workerOptions(dir, script) {
  const code = readFileSync(join(dir, script), "utf8");
  const modules = [{ type: "ESModule", path: join(dir, script), contents: code }];
  if (code.includes(`"./${WASM}"`)) {
    modules.push({ type: "CompiledWasm", path: join(dir, WASM), contents: readFileSync(join(dir, WASM)) });
  }
  return { modules, modulesRoot: dir, compatibilityDate: "2025-07-01" };
}
