// What npm's glue does around a core call, for the sketches the benches time beside telhook
// (bench/wasm-floor/src/one_pass.rs, bench/native-sketch): headers packed and the event read as
// npm does. Not all of it: telhook's contenders are called through npm's `Receiver.normalize`
// (the clock's check, its error wrapper, method and URL crossing), the sketches pass no method or URL, and the native ones take a `Buffer`. Measured
// (sixteenth session): at most 0.33 µs and 0.23 µs a call, in the sketches' favour.

// A headers object packed as npm packs it (src/internal.mjs flattenHeaders, packHeaders): one
// text and each part's length, the lengths array reused per count.
const lengthsByCount = [];
export function packedHeaders(headers) {
  const flat = [];
  for (const name of Object.keys(headers ?? {})) flat.push(String(name), String(headers[name]));
  const lengths = (lengthsByCount[flat.length] ??= new Uint32Array(flat.length));
  for (let i = 0; i < flat.length; i++) lengths[i] = flat[i].length;
  return [flat.join(""), lengths];
}

// The event from the native sketch's event text (its JSON: the bench payloads' message texts
// are short, and the sketch refuses an event whose long text would cross apart).
export function eventFrom(text) {
  return JSON.parse(text);
}

// The one-pass sketch for a bench payload (bench/wasm-floor/src/one_pass.rs), built from one of its
// builds' classes (`{ limephone, lisoloo }`: the wasm or the native one), or undefined where the
// payload has none.
export function onePassSketch(classes, name, credentials) {
  if (name === "limephone") return new classes.limephone(credentials.hmac_sha256[0], credentials.bearer[0]);
  if (name === "lisoloo") return new classes.lisoloo(credentials.basic[0].username, credentials.basic[0].password);
  return undefined;
}
