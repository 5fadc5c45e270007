// Lets the wasm-bindgen glue take a string wherever the Rust side takes bytes (a body): the
// string is encoded as UTF-8 straight into the module's memory (`TextEncoder.encodeInto`),
// where the glue would otherwise need a Uint8Array the caller encoded first and then copy it in.
// That encoded copy cost 0.28 µs of a 388-byte body, 11 µs of a 64 KiB one and 174 µs of 1 MiB
// (Node 20, bench/PROFILE.md, nineteenth session), and one body's size of memory outside the
// module at once. wasm-bindgen has no parameter type for "bytes or a string" and emits no such
// path, so its output is patched here, once, after every `wasm-bindgen` run (Makefile), and the
// patch fails loudly if the glue no longer has the function it expects (wasm-bindgen is pinned).
//
// Usage: node patch-glue.mjs <glue.js>...   (idempotent: an already patched file is left as is)
import { readFileSync, writeFileSync } from "node:fs";

const ORIGINAL = `function passArray8ToWasm0(arg, malloc) {
    const ptr = malloc(arg.length * 1, 1) >>> 0;`;

// The bytes wasm-bindgen hands Rust as a `Vec<u8>` are an allocation of exactly their length
// (`Vec::from_raw_parts(ptr, len, len)`): the room taken for a string that is not all ASCII is
// given back to exactly what was written.
const PATCHED = `function passArray8ToWasm0(arg, malloc) {
    if (typeof arg === "string") return passUtf8ToWasm0(arg, malloc);
    const ptr = malloc(arg.length * 1, 1) >>> 0;`;

const HELPER = `
// Added by telhook's npm/scripts/patch-glue.mjs: a string's UTF-8 encoded straight into the
// module's memory. One byte a UTF-16 unit first (what an ASCII body needs: encodeInto then reads
// it all), room for three a unit for what is left only when a wider character stopped it.
function passUtf8ToWasm0(text, malloc) {
    const units = text.length;
    let ptr = malloc(units, 1) >>> 0;
    let { read, written } = cachedTextEncoder.encodeInto(text, getUint8ArrayMemory0().subarray(ptr, ptr + units));
    if (read < units) {
        const rest = text.slice(read);
        const room = written + rest.length * 3;
        ptr = wasm.__wbindgen_realloc(ptr, units, room, 1) >>> 0;
        written += cachedTextEncoder.encodeInto(rest, getUint8ArrayMemory0().subarray(ptr + written, ptr + room)).written;
        ptr = wasm.__wbindgen_realloc(ptr, room, written, 1) >>> 0;
    }
    WASM_VECTOR_LEN = written;
    return ptr;
}
`;

for (const path of process.argv.slice(2)) {
  const glue = readFileSync(path, "utf8");
  if (glue.includes(PATCHED)) continue;
  const at = glue.indexOf(ORIGINAL);
  if (at < 0 || glue.indexOf(ORIGINAL, at + 1) >= 0) {
    throw new Error(`${path}: no single passArray8ToWasm0 as wasm-bindgen writes it; update npm/scripts/patch-glue.mjs`);
  }
  for (const needed of ["cachedTextEncoder", "getUint8ArrayMemory0", "wasm.__wbindgen_realloc", "WASM_VECTOR_LEN"]) {
    if (!glue.includes(needed)) throw new Error(`${path}: the glue has no ${needed}; update npm/scripts/patch-glue.mjs`);
  }
  writeFileSync(path, glue.replace(ORIGINAL, PATCHED) + HELPER);
}
