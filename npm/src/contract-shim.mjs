// TEMPORARY (branch nodrecv only, dropped when `receive` lands): a JS stand-in for the core's
// decide/checkNow/maxBodyBytes so the adapters can be developed before the wasm exports exist.
import * as wasm from "../wasm/telhook_wasm.js";

const VERIFICATION = new Set([
  "missing_signature", "invalid_signature_format", "signature_mismatch", "missing_authorization",
  "invalid_authorization_format", "authorization_mismatch", "ambiguous_header", "jwt_malformed",
  "jwt_algorithm_not_allowed", "jwt_expired", "jwt_not_yet_valid", "jwt_payload_mismatch",
]);
const PARSE = new Set(["malformed_json", "malformed_nested_json", "invalid_payload", "invalid_timestamp"]);
const REQUEST = new Set(["provider_not_detected", "invalid_request"]);
const CONFIG = new Set(["unknown_provider", "missing_credentials", "invalid_credentials", "invalid_clock", "raw_body_unavailable"]);

function action(provider, status) {
  if (!provider) return null;
  const p = JSON.parse(wasm.retryPolicy(provider));
  if (status >= p.ack_statuses.min && status <= p.ack_statuses.max) return "acknowledged";
  if (p.permanent_failure_statuses && status >= p.permanent_failure_statuses.min && status <= p.permanent_failure_statuses.max) return "permanent_failure";
  return "retry";
}

function answer(provider, status, code, field, extra = [], dedupe = "none", log = "none") {
  return {
    status, code,
    headers: [["content-type", "application/json"], ...extra],
    body: JSON.stringify({ [field]: code }),
    provider_action: action(provider, status), dedupe, log,
  };
}

export function decide(stepJson) {
  const s = JSON.parse(stepJson);
  const p = s.provider;
  switch (s.step) {
    case "rejected": {
      if (s.code === "method_not_allowed") return JSON.stringify(answer(p, 405, s.code, "error", [["allow", "POST"]], "none", "warning"));
      if (s.code === "body_too_large") return JSON.stringify(answer(p, 413, s.code, "error", [], "none", "warning"));
      if (VERIFICATION.has(s.code)) return JSON.stringify(answer(p, 401, s.code, "error", [], "none", "warning"));
      if (PARSE.has(s.code) || REQUEST.has(s.code)) return JSON.stringify(answer(p, 400, s.code, "error", [], "none", "warning"));
      if (CONFIG.has(s.code)) return JSON.stringify(answer(p, 500, s.code, "error", [], "none", "error"));
      return JSON.stringify(answer(p, 500, "internal", "error", [], "none", "error"));
    }
    case "claimed":
      if (s.state === "done") return JSON.stringify(answer(p, 200, "duplicate", "outcome", [], "none", "info"));
      return JSON.stringify(answer(p, 503, "delivery_in_progress", "error", [["retry-after", "5"]], "none", "info"));
    case "store_failed":
      return JSON.stringify(answer(p, 503, "dedupe_unavailable", "error", [["retry-after", "5"]], "none", "error"));
    case "handled":
      if (s.status !== undefined) {
        const a = answer(p, s.status, "handler_status", "outcome");
        a.dedupe = a.provider_action === "retry" ? "release" : "complete";
        return JSON.stringify(a);
      }
      if (s.outcome === "ok") return JSON.stringify(answer(p, 200, "accepted", "outcome", [], "complete"));
      return JSON.stringify(answer(p, 500, "handler_failed", "error", [], "release", "error"));
  }
  throw JSON.stringify({ code: "invalid_request", kind: "request", message: "unknown step" });
}

export function checkNow(now) {
  if (!(Number.isFinite(now) && now >= 946684800 && now < 4102444800)) {
    throw JSON.stringify({ code: "invalid_clock", kind: "configuration", message: "the clock must return UNIX seconds" });
  }
}

export function maxBodyBytes(inner, options) {
  return inner.maxBodyBytes ?? options?.max_body_bytes ?? 1048576;
}

export function leaseSecs(policy) {
  return policy.in_progress_lease_secs ?? 300;
}
