import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const SHARED = fileURLToPath(new URL("../../tests/handlers/", import.meta.url));
const LOCAL = fileURLToPath(new URL("./fixtures/handlers/", import.meta.url));

/** Every handler vector: the shared ones (tests/handlers) and the JS-only ones. */
export function loadHandlerVectors() {
  const out = [];
  for (const dir of [SHARED, LOCAL]) {
    if (!existsSync(dir)) continue;
    for (const file of readdirSync(dir).sort()) {
      if (file.endsWith(".json")) out.push({ name: file, vector: JSON.parse(readFileSync(join(dir, file), "utf8")) });
    }
  }
  return out;
}
