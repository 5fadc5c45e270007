// The one reader of the vectors' request form for the JS runtimes (Node and the workerd test
// Worker, which bundles it: no node: imports here). The form is the core's JSON request
// (`WebhookRequest::from_json_value`): `{method?, url?, headers, body | body_base64}`, headers
// as an object (a value may be a list: the header repeated) or as [name, value] pairs; handler
// vectors add `body_repeat: {text, times}` for large bodies. The loaders are load-vectors.mjs.

/** The body as the bytes (or text) the provider sent. */
export function bodyOf(form) {
  if (form.body_repeat !== undefined) return form.body_repeat.text.repeat(form.body_repeat.times);
  if (form.body_base64 !== undefined) return Uint8Array.from(atob(form.body_base64), (c) => c.charCodeAt(0));
  return form.body ?? "";
}

/** The headers as [name, value] pairs, in order, a repeated header once per value. */
export function headerPairs(form) {
  if (Array.isArray(form.headers)) return form.headers;
  return Object.entries(form.headers ?? {}).flatMap(([k, v]) => (Array.isArray(v) ? v.map((x) => [k, x]) : [[k, v]]));
}

/** The request as telhook's JS entry points take it. */
export function requestOf(form) {
  return { method: form.method ?? "POST", url: form.url, headers: headerPairs(form), body: bodyOf(form) };
}
