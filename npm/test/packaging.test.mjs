// The published artifact works: ESM and CJS imports, and a packed tarball installed elsewhere.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const PACKAGE_DIR = fileURLToPath(new URL("..", import.meta.url));
const SMOKE = `
  const policy = t.retryPolicy("limephone");
  if (policy.retry_delays_secs.join() !== "60,300,900,1800") throw new Error("bad policy");
  let code;
  try { t.normalizeEvent("lisoloo", { body: "{}" }, null); } catch (e) { code = e.code; }
  if (code !== "missing_credentials" ) throw new Error("bad error " + code);
  const event = t.normalizeEvent(null, { headers: { "User-Agent": "LoopServer" },
    body: '{"contact":"+13231112233","request_id":"r","webhook_id":"w"}' },
    { insecure_skip_verification: true }, { now: 1769000000 });
  if (event.id !== "looplookup:w") throw new Error("bad event " + event.id);
  console.log("ok");
`;

function node(cwd, args) {
  return execFileSync(process.execPath, args, { cwd, encoding: "utf8" }).trim();
}

test("ESM import and CJS require of the package both work", () => {
  assert.equal(node(PACKAGE_DIR, ["--input-type=module", "-e", `import * as t from "telhook"; ${SMOKE}`]), "ok");
  assert.equal(node(PACKAGE_DIR, ["--input-type=commonjs", "-e", `const t = require("telhook"); ${SMOKE}`]), "ok");
});

test("npm pack → install into a scratch project → import and require", () => {
  const scratch = mkdtempSync(join(tmpdir(), "telhook-pack-"));
  const npm = process.platform === "win32" ? "npm.cmd" : "npm";
  const packed = execFileSync(npm, ["pack", "--silent", "--pack-destination", scratch], {
    cwd: PACKAGE_DIR,
    encoding: "utf8",
  }).trim().split("\n").pop();
  const contents = execFileSync("tar", ["-tzf", join(scratch, packed)], { encoding: "utf8" });
  for (const file of ["dist/node.mjs", "dist/node.cjs", "dist/workerd.mjs", "dist/telhook_wasm_bg.wasm", "types/index.d.ts"]) {
    assert.ok(contents.includes(`package/${file}`), `${file} missing from the tarball`);
  }
  writeFileSync(join(scratch, "package.json"), JSON.stringify({ name: "scratch", private: true }));
  execFileSync(npm, ["install", "--no-audit", "--no-fund", "--offline", join(scratch, packed)], {
    cwd: scratch,
    stdio: "ignore",
  });
  assert.ok(readdirSync(join(scratch, "node_modules", "telhook", "dist")).includes("telhook_wasm_bg.wasm"));
  assert.equal(node(scratch, ["--input-type=module", "-e", `import * as t from "telhook"; ${SMOKE}`]), "ok");
  assert.equal(node(scratch, ["--input-type=commonjs", "-e", `const t = require("telhook"); ${SMOKE}`]), "ok");
});
