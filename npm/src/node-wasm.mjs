// The .wasm bytes inlined (esbuild's binary loader) for dist/node.cjs when the file next to it
// is missing: bundled apps and single-file executables.
import wasmBytes from "../wasm/telhook_wasm_bg.wasm";

export default wasmBytes;
