// `make demo`, Node part: the same signed captures as the Rust CLI, through the wasm build.
import { readdirSync, readFileSync } from "node:fs";
import * as telhook from "telhook";
import { fromHttpCapture } from "telhook/testing";

// The providers come from the registry (`telhook providers`, as the Makefile passes them).
//   node npm/scripts/demo.mjs <examples dir> <now> <provider>...
const [examplesDir, now, ...providers] = process.argv.slice(2);
if (providers.length === 0) throw new Error("usage: demo.mjs <examples dir> <now> <provider>...");
for (const provider of providers) {
  const credentials = JSON.parse(readFileSync(`${examplesDir}/${provider}/credentials.json`, "utf8"));
  for (const file of readdirSync(`${examplesDir}/${provider}`).filter((f) => f.endsWith(".http")).sort()) {
    const request = fromHttpCapture(readFileSync(`${examplesDir}/${provider}/${file}`));
    const { raw, ...event } = telhook.normalizeEvent(provider, request, credentials, { now });
    console.log(`== node ${provider}: ${file}`);
    console.log(JSON.stringify(event));
  }
}
