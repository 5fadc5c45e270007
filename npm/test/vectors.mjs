// Runs one conformance vector through a telhook module. Used by the Node test and bundled into
// the workerd test Worker, so both runtimes run identical code.
import { bodyOf, requestOf } from "./vector-reader.mjs";

export { bodyOf };

export function runVector(telhook, vector) {
  const request = requestOf(vector.request);
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
