// What bench.mjs and startup.mjs share to run telhook inside workerd: a Worker bundled as
// wrangler would (the `workerd` export of the package, the .wasm imported as a compiled module
// beside it) and the Miniflare options that load it.
import { copyFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

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
    plugins: [{ name: "wasm", setup(b) { b.onResolve({ filter: /\.wasm$/ }, () => ({ path: "./telhook_wasm_bg.wasm", external: true })); } }],
    logLevel: "error",
  });
  copyFileSync(here("../../npm/dist/telhook_wasm_bg.wasm"), join(dir, "telhook_wasm_bg.wasm"));
}

/** Miniflare options that run the bundled Worker `dir/<script>`. */
export function workerOptions(dir, script) {
  return {
    modules: true,
    scriptPath: join(dir, script),
    modulesRoot: dir,
    modulesRules: [{ type: "CompiledWasm", include: ["**/*.wasm"] }],
    compatibilityDate: "2025-07-01",
  };
}
