// A CommonJS TypeScript consumer (require resolves to types/index.d.cts).
import telhook = require("telhook");

export function status(error: unknown): number {
  if (error instanceof telhook.TelhookError) return telhook.ack("limephone", "malformed").status;
  return telhook.ack("limephone", "internal_error").status;
}
export const event: telhook.NormalizedEvent = telhook.normalizeEvent(
  "lisoloo",
  { headers: ["Authorization", "Basic eDp5"], body: "{}" },
  { basic: { username: "x", password: "y" } },
);
