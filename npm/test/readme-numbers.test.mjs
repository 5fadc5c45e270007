// The counts the README states about the repository are read from the tree, not typed by hand:
// this fails when one is stale. (Measurements — speed ratios, run times — are not stated there:
// `make bench` writes them to bench/RESULTS.md.)
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";

const ROOT = new URL("../../", import.meta.url);
const README = readFileSync(new URL("README.md", ROOT), "utf8");
const jsonFiles = (dir) =>
  readdirSync(new URL(dir, ROOT), { recursive: true }).filter((file) => String(file).endsWith(".json")).length;

test("README counts: conformance vectors, hostile vectors, canary requests, fuzz targets", () => {
  const fuzzTargets = readdirSync(new URL("fuzz/fuzz_targets/", ROOT)).filter((f) => f.endsWith(".rs")).length;
  assert.match(README, new RegExp(`- ${jsonFiles("tests/vectors/")} conformance vectors, ${jsonFiles("tests/vectors/hostile/")} of them generated hostile`));
  assert.match(README, new RegExp(`- ${jsonFiles("tests/canary/")} canary requests`));
  assert.match(README, new RegExp(`\`make fuzz\` runs ${fuzzTargets} cargo-fuzz targets`));
});

test("no measured ratio or duration typed into the READMEs", () => {
  for (const path of ["README.md", "npm/README.md", "python/README.md"]) {
    const text = readFileSync(new URL(path, ROOT), "utf8");
    assert.doesNotMatch(text, /\d(\.\d+)?\s*[–-]?\s*\d*(\.\d+)?\s*× (faster|slower)/, path);
    assert.doesNotMatch(text, /about \d+ (minutes|seconds) on \d+ cores/, path);
  }
});
