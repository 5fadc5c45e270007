// Start-up warm-up for the hosts that bill CPU per request (Workers, Vercel Edge). V8 compiles
// a wasm function the first time it runs, so without this the first request after a cold start
// compiled everything it touched: 6-7 ms of that request's CPU in workerd (the Workers Free
// plan allows 10 ms per request and gives start-up its own budget). Normalizing a signed
// request at start-up compiles it there instead (which: scripts/warm-up-requests.mjs). The
// requests are test vectors (tests/vectors, fixed test secrets, a fixed clock), inlined by
// scripts/build.mjs. Each goes through `normalizeEvent` (what a `Receiver` runs) and through a
// handler's delivery (`warmUpDelivery`: what `createHandler` runs, which a Worker usually builds
// in its first request, its credentials being in `env`).
import requests from "telhook:warm-up-requests";
import { normalizeEvent } from "./api.mjs";
import { warmUpDelivery } from "./receive.mjs";

export function warmUp() {
  requests.forEach(({ provider, credentials, request, now }, index) => {
    try {
      // What every provider's request shares (the one-shot entry, both handler modes) is
      // compiled by the first; each other one adds its own code through one delivery.
      if (index === 0) normalizeEvent(provider, request, credentials, { now });
      warmUpDelivery({ provider, credentials, request, now }, index === 0 ? undefined : 1);
    } catch {
      // Checked at build time (scripts/build.mjs): never thrown by a released package.
    }
  });
}
