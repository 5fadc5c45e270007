// Reads the shared conformance vectors and runs one through a telhook module. Used by the
// Node test and bundled into the workerd test Worker, so both runtimes run identical code.
export function bodyOf(request) {
  if (request.body_base64 !== undefined) {
    return Uint8Array.from(atob(request.body_base64), (c) => c.charCodeAt(0));
  }
  return request.body ?? "";
}

export function runVector(telhook, vector) {
  const request = {
    method: vector.request.method ?? "POST",
    url: vector.request.url,
    headers: vector.request.headers ?? {},
    body: bodyOf(vector.request),
  };
  try {
    const event = telhook.normalizeEvent(vector.provider, request, vector.credentials, {
      now: vector.now,
      ...(vector.options ?? {}),
    });
    return { event };
  } catch (error) {
    // Anything but a TelhookError (a wasm trap above all) escapes and fails the test.
    if (error instanceof telhook.TelhookError) return { error: error.code };
    throw error;
  }
}
