import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const VECTORS_DIR = fileURLToPath(new URL("../../tests/vectors/", import.meta.url));

export function loadVectors() {
  const out = [];
  for (const group of readdirSync(VECTORS_DIR).sort()) {
    const dir = join(VECTORS_DIR, group);
    if (!statSync(dir).isDirectory()) continue;
    for (const file of readdirSync(dir).sort()) {
      if (file.endsWith(".json")) {
        out.push({ name: `${group}/${file}`, vector: JSON.parse(readFileSync(join(dir, file), "utf8")) });
      }
    }
  }
  return out;
}
