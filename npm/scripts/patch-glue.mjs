// Two patches of the wasm-bindgen glue (the second is MODULE_PATCHED, below).
//
// Lets the wasm-bindgen glue take a string wherever the Rust side takes bytes (a body): the
// string is encoded as UTF-8 straight into the module's memory (`TextEncoder.encodeInto`),
// where the glue would otherwise need a Uint8Array the caller encoded first and then copy it in.
// That encoded copy cost ~0.2 µs of a 388-byte body, ~9 µs of a 64 KiB one and ~130 µs of 1 MiB
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
// (`Vec::from_raw_parts(ptr, len, len)`): the helper allocates exactly the string's UTF-8 size.
const PATCHED = `function passArray8ToWasm0(arg, malloc) {
    if (typeof arg === "string") return passUtf8ToWasm0(arg, malloc);
    const ptr = malloc(arg.length * 1, 1) >>> 0;`;

const HELPER = `
// Added by telhook's npm/scripts/patch-glue.mjs: a string's UTF-8 encoded straight into the
// module's memory, in a block of exactly its size. The size is counted first, by encoding the
// string a piece at a time into a small scratch array: a block guessed and then grown or swapped
// for another leaves a hole in wasm memory, which never shrinks (a first guess of one byte a
// unit kept half a megabyte for good after a 1 MiB body of accented text: found by review).
// Counting costs about what the encoding does (~40 µs a MiB in Node 20); the encoded copy it
// replaces, TextEncoder.encode and the copy in, ~210 µs.
const UTF8_COUNT_UNITS = 8192;
let utf8Scratch;
function utf8Length(text) {
    // One unit more than a piece, for a piece that ends on a pair's first half; 3 bytes a unit.
    utf8Scratch ??= new Uint8Array((UTF8_COUNT_UNITS + 1) * 3);
    if (text.length <= UTF8_COUNT_UNITS) return cachedTextEncoder.encodeInto(text, utf8Scratch).written;
    let bytes = 0;
    for (let at = 0; at < text.length; ) {
        let end = Math.min(at + UTF8_COUNT_UNITS, text.length);
        // Never between the two halves of a surrogate pair: apart, each would count as U+FFFD.
        const last = text.charCodeAt(end - 1);
        if (last >= 0xd800 && last <= 0xdbff && end < text.length) end += 1;
        bytes += cachedTextEncoder.encodeInto(text.slice(at, end), utf8Scratch).written;
        at = end;
    }
    return bytes;
}

function passUtf8ToWasm0(text, malloc) {
    const size = utf8Length(text);
    const ptr = malloc(size, 1) >>> 0;
    const { read, written } = cachedTextEncoder.encodeInto(text, getUint8ArrayMemory0().subarray(ptr, ptr + size));
    if (read !== text.length || written !== size) {
        wasm.__wbindgen_free(ptr, size, 1);
        throw new Error("telhook: a string body did not encode to the UTF-8 size counted for it");
    }
    WASM_VECTOR_LEN = size;
    return ptr;
}
`;

// A compiled module handed in from another realm is a module all the same. Next.js's edge
// sandbox (next dev, and next build collecting a route's data) compiles a `.wasm?module` import
// in Node's own realm and hands it to the sandbox, whose `WebAssembly.Module` is another
// constructor: the glue's `instanceof` said no, compiled the module object as if it were bytes,
// and every route that imports telhook threw at import (a review). The tag is the realm-free test
// (WebAssembly.Instance takes a module of any realm of the engine).
const MODULE_ORIGINAL = "if (!(module instanceof WebAssembly.Module)) {";
const MODULE_PATCHED = 'if (Object.prototype.toString.call(module) !== "[object WebAssembly.Module]") {';

for (const path of process.argv.slice(2)) {
  const glue = readFileSync(path, "utf8");
  // Patched whole or not at all: a file with some of the parts (a write cut short, a hand
  // edit) would fail on its first string body or compiled module, so it fails here.
  // A glue of wasm-bindgen's `nodejs` target (the bench's floor) compiles its own bytes: it has
  // no initSync, so no module check to patch.
  const takesModules = glue.includes("function initSync(");
  const parts = [glue.includes(PATCHED), glue.includes(HELPER), ...(takesModules ? [glue.includes(MODULE_PATCHED)] : [])];
  if (parts.every(Boolean)) continue;
  if (parts.some(Boolean)) throw new Error(`${path}: half patched; run wasm-bindgen again`);
  const moduleAt = glue.indexOf(MODULE_ORIGINAL);
  if (takesModules && (moduleAt < 0 || glue.indexOf(MODULE_ORIGINAL, moduleAt + 1) >= 0)) {
    throw new Error(`${path}: no single initSync module check as wasm-bindgen writes it; update npm/scripts/patch-glue.mjs`);
  }
  const at = glue.indexOf(ORIGINAL);
  if (at < 0 || glue.indexOf(ORIGINAL, at + 1) >= 0) {
    throw new Error(`${path}: no single passArray8ToWasm0 as wasm-bindgen writes it; update npm/scripts/patch-glue.mjs`);
  }
  for (const needed of ["cachedTextEncoder", "getUint8ArrayMemory0", "wasm.__wbindgen_free", "WASM_VECTOR_LEN"]) {
    if (!glue.includes(needed)) throw new Error(`${path}: the glue has no ${needed}; update npm/scripts/patch-glue.mjs`);
  }
  writeFileSync(path, glue.replace(ORIGINAL, PATCHED).replace(MODULE_ORIGINAL, MODULE_PATCHED) + HELPER);
}
