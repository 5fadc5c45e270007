// The vector files (conformance and hostile under tests/vectors, receive-path under
// tests/handlers), read once per test process. Their requests are read by vector-reader.mjs.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const VECTORS_DIR = fileURLToPath(new URL("../../tests/vectors/", import.meta.url));
const HANDLERS_DIR = fileURLToPath(new URL("../../tests/handlers/", import.meta.url));
const INBOX_DIR = fileURLToPath(new URL("../../tests/inbox/", import.meta.url));
const CANARY_DIR = fileURLToPath(new URL("../../tests/canary/", import.meta.url));

const jsonFiles = (dir) => readdirSync(dir).filter((file) => file.endsWith(".json")).sort();

/** Every conformance and hostile vector, as `{name: "<group>/<file>", vector}`. */
export function loadVectors() {
  const out = [];
  for (const group of readdirSync(VECTORS_DIR).sort()) {
    const dir = join(VECTORS_DIR, group);
    if (!statSync(dir).isDirectory()) continue;
    for (const file of jsonFiles(dir)) {
      out.push({ name: `${group}/${file}`, vector: JSON.parse(readFileSync(join(dir, file), "utf8")) });
    }
  }
  return out;
}

/** Every handler vector of tests/handlers, as `{name: "<file>", vector}`. */
export function loadHandlerVectors() {
  return jsonFiles(HANDLERS_DIR).map((file) => ({ name: file, vector: JSON.parse(readFileSync(join(HANDLERS_DIR, file), "utf8")) }));
}

/** Every inbox-mode vector of tests/inbox (issue 23), as `{name: "<file>", vector}`. */
export function loadInboxVectors() {
  return jsonFiles(INBOX_DIR).map((file) => ({ name: file, vector: JSON.parse(readFileSync(join(INBOX_DIR, file), "utf8")) }));
}

/** Every canary request of tests/canary (issue 12: no error quotes a value of the request). */
export function loadCanaryVectors() {
  return jsonFiles(CANARY_DIR).map((file) => ({ name: file, vector: JSON.parse(readFileSync(join(CANARY_DIR, file), "utf8")) }));
}
