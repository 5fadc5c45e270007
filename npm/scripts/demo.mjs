// `make demo`, Node part: the same signed captures as the Rust CLI, through the wasm build.
import { readdirSync, readFileSync } from "node:fs";
import * as telhook from "telhook";

const [examplesDir, now] = process.argv.slice(2);
for (const provider of ["limephone", "lisoloo", "gatewayapi", "looplookup", "did_reseller"]) {
  const credentials = JSON.parse(readFileSync(`${examplesDir}/${provider}/credentials.json`, "utf8"));
  for (const file of readdirSync(`${examplesDir}/${provider}`).filter((f) => f.endsWith(".http")).sort()) {
    const request = telhook.fromHttpCapture(readFileSync(`${examplesDir}/${provider}/${file}`));
    const { raw, ...event } = telhook.normalizeEvent(provider, request, credentials, { now });
    console.log(`== node ${provider}: ${file}`);
    console.log(JSON.stringify(event));
  }
}
