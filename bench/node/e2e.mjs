// `make bench`, end to end (issue 14): each server on 127.0.0.1 (a free port, one worker
// process), loaded by autocannon with the same signed request for E2E_SECONDS (default 5) over
// 10 connections, one run each; requests/s and p99 latency to target/bench/e2e.json for
// bench/report.py. Every server started here is stopped here (by its own PID). gunicorn runs its
// gthread worker with one thread: the sync worker closes every connection after one answer,
// which autocannon's keep-alive connections report as ~1 s latencies.
import { execFileSync, spawn } from "node:child_process";
import { createHmac } from "node:crypto";
import { once } from "node:events";
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import net from "node:net";
import { fileURLToPath } from "node:url";
import autocannon from "autocannon";

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const python = process.argv[2] ?? here("../../.venv/bin/python");
const seconds = Number(process.env.E2E_SECONDS ?? 5);
const connections = 10;
const payload = JSON.parse(readFileSync(here("../payloads/limephone.json"), "utf8"));
const { body, headers } = payload.request;
const OCTOKIT_SECRET = "an-octokit-webhooks-secret";
// @octokit/webhooks' own scheme over a body of the same size (the same bytes).
const octokitHeaders = {
  "content-type": "application/json",
  "x-github-event": "push",
  "x-github-delivery": "72d3162e-cc78-11e3-81ab-4c9367dc0958",
  "x-hub-signature-256": "sha256=" + createHmac("sha256", OCTOKIT_SECRET).update(body).digest("hex"),
};

async function freePort() {
  const server = net.createServer().listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address();
  server.close();
  await once(server, "close");
  return port;
}

const pythonEnv = { ...process.env, PYTHONPATH: here("../python") };
const SERVERS = [
  { name: "node_telhook", path: "/", headers, cmd: (port) => [process.execPath, [here("servers.mjs"), "telhook", port]] },
  { name: "node_octokit", path: "/", headers: octokitHeaders, cmd: (port) => [process.execPath, [here("servers.mjs"), "octokit", port, OCTOKIT_SECRET]] },
  { name: "node_bare", path: "/", headers, cmd: (port) => [process.execPath, [here("servers.mjs"), "bare", port]] },
  { name: "node_normalize_only", path: "/", headers, cmd: (port) => [process.execPath, [here("servers.mjs"), "normalize", port]] },
  ...["telhook", "bare"].map((route) => ({
    name: `django_${route}`, path: `/${route}`, headers, env: pythonEnv,
    cmd: (port) => [python, ["-m", "gunicorn", "--workers", "1", "--worker-class", "gthread", "--threads", "1", "--bind", `127.0.0.1:${port}`, "--log-level", "warning", "servers:django_app"]],
  })),
  ...["telhook", "bare"].map((route) => ({
    name: `starlette_${route}`, path: `/${route}`, headers, env: pythonEnv,
    cmd: (port) => [python, ["-m", "uvicorn", "--host", "127.0.0.1", "--port", String(port), "--workers", "1",
      "--log-level", "warning", "--no-access-log", "servers:starlette_app"]],
  })),
];

/** POSTs the request once; the status, or null while the server is not listening yet. */
async function post(url, requestHeaders) {
  try {
    const response = await fetch(url, { method: "POST", headers: requestHeaders, body });
    await response.arrayBuffer();
    return response.status;
  } catch {
    return null;
  }
}

const results = { seconds, connections, body_bytes: Buffer.byteLength(body), servers: {} };

// The kernel's clock ticks a second (`getconf CLK_TCK`), the unit of /proc/<pid>/stat's times.
const CLOCK_TICKS = Number(String(execFileSync("getconf", ["CLK_TCK"])).trim());

/** CPU time (user + system, µs) of `root` and every process below it (gunicorn's worker). */
function treeCpuUs(root) {
  const stats = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // The command name (field 2) may hold spaces and parentheses: fields are read after its ")".
      const text = readFileSync(`/proc/${entry}/stat`, "utf8");
      const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
      stats.push({ pid: Number(entry), parent: Number(fields[1]), ticks: Number(fields[11]) + Number(fields[12]) });
    } catch {
      // The process ended between the listing and the read.
    }
  }
  const inTree = new Set([root]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const { pid, parent } of stats) {
      if (inTree.has(parent) && !inTree.has(pid)) {
        inTree.add(pid);
        grew = true;
      }
    }
  }
  return stats.filter(({ pid }) => inTree.has(pid)).reduce((sum, { ticks }) => sum + ticks, 0) * (1e6 / CLOCK_TICKS);
}

/** Starts `server`, loads it for `seconds` and stops it: requests/s and latencies. */
async function load(server) {
  const port = await freePort();
  const [command, args] = server.cmd(port);
  // A Node server reports its CPU time per request on stdout when stopped (servers.mjs).
  const child = spawn(command, args, { env: server.env ?? process.env, cwd: here("../python"), stdio: ["ignore", "pipe", "inherit"] });
  let output = "";
  child.stdout.on("data", (chunk) => (output += chunk));
  const exited = once(child, "exit");
  let run;
  let pythonCpuUs; // a Python server's CPU per request, from /proc (Node servers report their own)
  try {
    const url = `http://127.0.0.1:${port}${server.path}`;
    let status = null;
    for (let tries = 0; status === null && tries < 300 && child.exitCode === null; tries++) {
      status = await post(url, server.headers);
      if (status === null) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    if (status !== 200) throw new Error(`${server.name}: answered ${status} to the signed request, expected 200`);
    if (server.name.startsWith("node_")) child.kill("SIGUSR2");
    // Python servers: their process tree's CPU time across the load, from /proc (10 ms ticks:
    // under 1 % of the ~5 s a run uses). The load's requests are the server's requests.
    const cpuBefore = server.name.startsWith("node_") ? 0 : treeCpuUs(child.pid);
    run = await autocannon({ url, method: "POST", headers: server.headers, body, connections, duration: seconds });
    if (!server.name.startsWith("node_")) pythonCpuUs = (treeCpuUs(child.pid) - cpuBefore) / run.requests.total;
    if (run.non2xx || run.errors || run.timeouts) {
      throw new Error(`${server.name}: ${run.non2xx} non-2xx answers, ${run.errors} errors, ${run.timeouts} timeouts`);
    }
  } finally {
    child.kill("SIGTERM");
    await exited;
  }
  const result = {
    requests_per_second: run.requests.average,
    requests: run.requests.total,
    latency_p50_ms: run.latency.p50,
    latency_p99_ms: run.latency.p99,
  };
  if (pythonCpuUs !== undefined) result.server_cpu_us_per_request = pythonCpuUs;
  const report = output.split("\n").find((line) => line.startsWith("{"));
  if (server.name.startsWith("node_")) {
    if (report === undefined) throw new Error(`${server.name}: no CPU report on stdout`);
    const { cpu_us: cpu, requests } = JSON.parse(report);
    if (!(requests > 0)) throw new Error(`${server.name}: the server counted no requests`);
    result.server_cpu_us_per_request = cpu / requests;
  }
  const cpu = result.server_cpu_us_per_request;
  console.error(`e2e ${server.name}: ${result.requests_per_second} req/s, p99 ${result.latency_p99_ms} ms${cpu ? `, server CPU ${cpu.toFixed(1)} µs a request` : ""}`);
  return result;
}

// Every comparison is a goal or a ratio (issue 27): E2E_ROUNDS interleaved runs of every server,
// the best of each kept, so a burst of load on the shared machine does not decide a ratio.
const rounds = Number(process.env.E2E_ROUNDS ?? 3);
// E2E_ONLY=django: only the servers whose names start with it (a quick look; no results file).
const only = process.env.E2E_ONLY;
const chosen = SERVERS.filter((server) => only === undefined || server.name.startsWith(only));
for (let round = 0; round < rounds; round++) {
  for (const server of chosen) {
    const run = await load(server);
    const best = results.servers[server.name];
    // The least CPU per request of any round, kept apart from the best round's requests/s.
    const leastCpu = Math.min(best?.least_server_cpu_us_per_request ?? Infinity, run.server_cpu_us_per_request ?? Infinity);
    // Each round's CPU per request, in round order: a server's round is run right after its
    // counterpart's (telhook, then bare), so report.py can divide the two within each round.
    const cpuRounds = [...(best?.cpu_rounds ?? []), run.server_cpu_us_per_request ?? null];
    if (best === undefined || run.requests_per_second > best.requests_per_second) results.servers[server.name] = { ...run, rounds };
    results.servers[server.name].cpu_rounds = cpuRounds;
    if (Number.isFinite(leastCpu)) results.servers[server.name].least_server_cpu_us_per_request = leastCpu;
  }
}
if (only !== undefined) process.exit(0);
mkdirSync(here("../../target/bench"), { recursive: true });
writeFileSync(here("../../target/bench/e2e.json"), JSON.stringify(results, null, 2));
console.error("e2e: written target/bench/e2e.json");
