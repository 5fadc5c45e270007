// Bundles a test Worker as wrangler would (the "workerd" condition, the .wasm kept as its own
// module) into a temporary directory, and returns the Miniflare options that load it.
import { mkdtempSync, copyFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

/** `entry`: a file path, or `{ contents }` — source resolved from this directory (so that
 * `import "telhook"` finds this package, as in a user's project). */
export async function bundleWorker(entry) {
  const dir = mkdtempSync(join(tmpdir(), "telhook-worker-"));
  const input =
    typeof entry === "string"
      ? { entryPoints: [entry] }
      : { stdin: { contents: entry.contents, resolveDir: fileURLToPath(new URL(".", import.meta.url)), sourcefile: "worker.mjs" } };
  await build({
    ...input,
    outfile: join(dir, "worker.mjs"),
    bundle: true,
    format: "esm",
    platform: "neutral",
    conditions: ["workerd", "worker"],
    plugins: [
      {
        name: "wasm-modules",
        setup(b) {
          b.onResolve({ filter: /\.wasm$/ }, (args) => ({ path: `./${args.path.split("/").pop()}`, external: true }));
        },
      },
    ],
    logLevel: "warning",
  });
  copyFileSync(fileURLToPath(new URL("../dist/telhook_wasm_bg.wasm", import.meta.url)), join(dir, "telhook_wasm_bg.wasm"));
  return {
    modules: true,
    scriptPath: join(dir, "worker.mjs"),
    modulesRoot: dir,
    modulesRules: [{ type: "CompiledWasm", include: ["**/*.wasm"] }],
    compatibilityDate: "2025-07-01",
  };
}
