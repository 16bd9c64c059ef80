// The test harness: environment, the binary's CLI (seeding), `serve`
// instances on free loopback ports, Redis flushing over a raw RESP socket and
// a TCP proxy that can cut or freeze the database.
import { spawn, spawnSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { request } from "./http.mjs";
import { registerSecret } from "./spec.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = path.resolve(here, "../../..");

// ---------------------------------------------------------------- environment

// Reads QS_BINARY, QS_TEST_DATABASE_URL and QS_TEST_REDIS_URL. Throws a clear
// error when one is missing: the suite must fail, not pass vacuously.
export function readEnv() {
  const missing = ["QS_BINARY", "QS_TEST_DATABASE_URL", "QS_TEST_REDIS_URL"].filter((n) => !process.env[n]);
  if (missing.length > 0) {
    throw new Error(
      `missing environment: ${missing.join(", ")}. Run tests/run (or tests/contract/run with ` +
        `QS_BINARY=path/to/querystatus QS_TEST_DATABASE_URL=postgresql://... QS_TEST_REDIS_URL=redis://127.0.0.1:PORT/0).`,
    );
  }
  const binary = process.env.QS_BINARY;
  if (!fs.existsSync(binary)) throw new Error(`QS_BINARY=${binary} does not exist; build it first`);
  const redis = new URL(process.env.QS_TEST_REDIS_URL);
  // Our own logical database, so that flushing it disturbs nobody else.
  redis.pathname = "/3";
  return {
    binary,
    databaseUrl: process.env.QS_TEST_DATABASE_URL,
    redisUrl: redis.toString(),
  };
}

// A fresh suffix per run: the database is shared between runs and suites.
export const RUN_ID = `${Date.now().toString(36)}${crypto.randomBytes(3).toString("hex")}`;
let scheduleCounter = 0;
export function newScheduleId(label = "q") {
  scheduleCounter += 1;
  return `ct-${label}-${RUN_ID}-${scheduleCounter}`.slice(0, 50);
}

// Server logs of this run (created on first use, kept for inspection).
let logDir = null;
export function logDirectory() {
  if (!logDir) logDir = fs.mkdtempSync(path.join(os.tmpdir(), "qs-contract-"));
  return logDir;
}

export function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

// --------------------------------------------------------------------- redis

// Sends simple commands over RESP and returns the replies (simple strings,
// errors, integers or bulk strings).
export function redisCommands(redisUrl, commands) {
  const url = new URL(redisUrl);
  const all = [];
  if (url.password || url.username) {
    all.push(url.username ? ["AUTH", decodeURIComponent(url.username), decodeURIComponent(url.password)] : ["AUTH", decodeURIComponent(url.password)]);
  }
  const db = url.pathname.replace(/^\//, "") || "0";
  all.push(["SELECT", db], ...commands);
  const payload = all
    .map((args) => `*${args.length}\r\n` + args.map((a) => `$${Buffer.byteLength(String(a))}\r\n${a}\r\n`).join(""))
    .join("");
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: url.hostname, port: Number(url.port || 6379) });
    let buf = "";
    const replies = [];
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`redis at ${url.host} did not answer`));
    }, 5000);
    sock.on("connect", () => sock.write(payload));
    sock.on("data", (d) => {
      buf += d.toString("utf8");
      for (;;) {
        const nl = buf.indexOf("\r\n");
        if (nl < 0) break;
        const line = buf.slice(0, nl);
        if (line[0] === "$") {
          const len = Number(line.slice(1));
          if (len < 0) {
            replies.push(null);
            buf = buf.slice(nl + 2);
            continue;
          }
          if (buf.length < nl + 2 + len + 2) break;
          replies.push(buf.slice(nl + 2, nl + 2 + len));
          buf = buf.slice(nl + 2 + len + 2);
          continue;
        }
        replies.push(line);
        buf = buf.slice(nl + 2);
      }
      if (replies.length >= all.length) {
        clearTimeout(timer);
        sock.end();
        const errors = replies.filter((r) => typeof r === "string" && r.startsWith("-"));
        if (errors.length) reject(new Error(`redis: ${errors.join(", ")}`));
        else resolve(replies.slice(all.length - commands.length));
      }
    });
    sock.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

// ----------------------------------------------------------------------- cli

function childEnv(env, extra = {}) {
  const out = {};
  for (const [k, v] of Object.entries(process.env)) {
    // Settings of the caller's shell must not leak into the service under test.
    if (!k.startsWith("QS_") || k.startsWith("QS_TEST_") || k === "QS_BINARY") out[k] = v;
  }
  out.QS_DATABASE_URL = env.databaseUrl;
  out.QS_REDIS_URL = env.redisUrl;
  const migrations = path.join(REPO_ROOT, "migrations");
  if (fs.existsSync(migrations)) out.QS_MIGRATIONS_DIR = migrations;
  return { ...out, ...extra };
}

// Runs `querystatus ARGS`, returns {code, stdout, stderr}.
export function runCli(env, args, { input, extraEnv } = {}) {
  const r = spawnSync(env.binary, args, {
    input,
    env: childEnv(env, extraEnv),
    encoding: "utf8",
    timeout: 120000,
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.error) throw r.error;
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

// Runs a CLI command that must succeed; returns its stdout.
export function cli(env, args, options) {
  const r = runCli(env, args, options);
  if (r.code !== 0) {
    throw new Error(`querystatus ${args.join(" ")} exited ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  }
  return r.stdout;
}

// The single non-empty line of `out`; fails unless there is exactly one.
function aloneOnALine(out, what) {
  const lines = out.split("\n").filter((l) => l.trim() !== "");
  if (lines.length !== 1) throw new Error(`expected ${what} alone on a line, got ${JSON.stringify(out)}`);
  return lines[0].trim();
}

export function createLicense(env, { name, rateLimit, retentionSeconds } = {}) {
  const args = ["license", "create", "--name", name || `contract ${RUN_ID}`];
  if (rateLimit !== undefined) args.push("--rate-limit", String(rateLimit));
  if (retentionSeconds !== undefined) args.push("--retention-seconds", String(retentionSeconds));
  const id = aloneOnALine(cli(env, args), "the license id");
  if (!/^[0-9]+$/.test(id)) throw new Error(`license create printed ${JSON.stringify(id)}, not an id`);
  return id;
}

export function createKey(env, { license, rateLimit, expiresInSeconds }) {
  const args = ["key", "create", "--license", String(license)];
  if (rateLimit !== undefined) args.push("--rate-limit", String(rateLimit));
  if (expiresInSeconds !== undefined) args.push("--expires-in-seconds", String(expiresInSeconds));
  const token = aloneOnALine(cli(env, args), "the token");
  if (!/^[A-Za-z0-9_-]{1,255}$/.test(token)) throw new Error(`key create printed ${JSON.stringify(token)}, not a token`);
  registerSecret(token);
  return token;
}

export function revokeKey(env, token) {
  cli(env, ["key", "revoke", "--token", token]);
}

export function putQuery(env, { license, scheduleId, status, ready, total, finishedAgo }) {
  const args = ["query", "put", "--license", String(license), "--schedule-id", scheduleId, "--status", status];
  if (ready !== undefined) args.push("--ready", String(ready));
  if (total !== undefined) args.push("--total", String(total));
  if (finishedAgo !== undefined) args.push("--finished-ago", String(finishedAgo));
  cli(env, args);
}

// Loads `rows` (objects) and returns the count the command printed.
export function loadRows(env, scheduleId, rows) {
  const input = rows.map((r) => JSON.stringify(r)).join("\n") + "\n";
  const out = aloneOnALine(cli(env, ["rows", "load", "--schedule-id", scheduleId], { input }), "the row count");
  return Number(out);
}

export function setQueue(env, license, scheduled, running) {
  cli(env, ["queue", "set", "--license", String(license), "--scheduled", String(scheduled), "--running", String(running)]);
}

// --------------------------------------------------------------------- ports

export async function freePort() {
  return (await freePorts(1))[0];
}

// `n` distinct free loopback ports: every listener is held until all are
// taken, so the kernel cannot hand the same port out twice (a port closed
// before the next is asked for may come back at once).
export async function freePorts(n) {
  const servers = [];
  try {
    for (let i = 0; i < n; i++) {
      const srv = net.createServer();
      srv.unref();
      await new Promise((resolve, reject) => {
        srv.on("error", reject);
        srv.listen(0, "127.0.0.1", resolve);
      });
      servers.push(srv);
    }
    return servers.map((srv) => srv.address().port);
  } finally {
    await Promise.all(servers.map((srv) => new Promise((resolve) => srv.close(resolve))));
  }
}

// -------------------------------------------------------------------- serve

/**
 * Starts `querystatus serve` on free loopback ports and waits until
 * `waitFor` ("/readyz" or "/healthz") answers 200 on the admin listener.
 * Returns {port, adminPort, proc, logPath, log(), stop(), exited}.
 */
export async function startServer(env, { name, args = [], databaseUrl, redisUrl, waitFor = "/readyz", trustedProxies = "127.0.0.1/32" } = {}) {
  const [port, adminPort] = await freePorts(2);
  const logPath = path.join(logDirectory(), `serve-${name || port}.log`);
  const logFd = fs.openSync(logPath, "a");
  const fullArgs = [
    "serve",
    "--listen", `127.0.0.1:${port}`,
    "--admin-listen", `127.0.0.1:${adminPort}`,
    "--database-url", databaseUrl || env.databaseUrl,
    "--redis-url", redisUrl || env.redisUrl,
    "--drain-delay-seconds", "0",
    "--shutdown-timeout-seconds", "5",
    "--http-threads", "2",
    "--workers", "4",
    "--database-pool-size", "4",
  ];
  if (trustedProxies) fullArgs.push("--trusted-proxies", trustedProxies);
  // Later flags override earlier ones only if the binary allows it; give
  // callers' flags precedence by dropping the defaults they override.
  for (let i = 0; i < args.length; i += 2) {
    const idx = fullArgs.indexOf(args[i]);
    if (idx > 0) fullArgs.splice(idx, 2);
  }
  fullArgs.push(...args);
  const proc = spawn(env.binary, fullArgs, { env: childEnv(env), stdio: ["ignore", logFd, logFd] });
  fs.closeSync(logFd);
  const server = {
    name,
    port,
    adminPort,
    proc,
    logPath,
    args: fullArgs,
    exitCode: undefined,
    log: () => fs.readFileSync(logPath, "utf8"),
  };
  server.exited = new Promise((resolve) => {
    proc.on("exit", (code, signal) => {
      server.exitCode = code;
      server.exitSignal = signal;
      resolve({ code, signal });
    });
  });
  server.stop = async (timeoutMs = 15000) => {
    if (server.exitCode !== undefined) return { code: server.exitCode, signal: server.exitSignal };
    proc.kill("SIGTERM");
    const t = sleep(timeoutMs).then(() => "timeout");
    if ((await Promise.race([server.exited, t])) === "timeout") {
      proc.kill("SIGKILL");
      await server.exited;
      throw new Error(`serve (${name}) did not exit within ${timeoutMs} ms of SIGTERM; killed`);
    }
    return { code: server.exitCode, signal: server.exitSignal };
  };

  const deadline = Date.now() + 30000;
  let last = "no answer";
  while (Date.now() < deadline) {
    if (server.exitCode !== undefined) {
      throw new Error(`serve (${name}) exited with ${server.exitCode} during start-up; args ${fullArgs.join(" ")}\n${server.log()}`);
    }
    try {
      const r = await request({ port: adminPort, path: waitFor, server: "admin", timeoutMs: 2000 });
      if (r.status === 200) return server;
      last = `${r.status} ${r.body}`;
    } catch (e) {
      last = e.message;
    }
    await sleep(100);
  }
  proc.kill("SIGKILL");
  throw new Error(`serve (${name}) not ready on ${waitFor} within 30 s (last: ${last})\n${server.log()}`);
}

// -------------------------------------------------------------- tcp proxy

// A TCP proxy in front of PostgreSQL. cut() closes every connection and
// refuses new ones (a database that is down); freeze() keeps connections
// open but passes no more bytes and leaves new ones unanswered (a database
// that hangs); heal() restores service.
export async function startTcpProxy(targetHost, targetPort) {
  const pairs = new Set();
  let mode = "pass";
  const server = net.createServer((client) => {
    if (mode === "frozen") {
      pairs.add({ client, upstream: null });
      client.on("error", () => {});
      return;
    }
    const upstream = net.connect({ host: targetHost, port: targetPort });
    const pair = { client, upstream };
    pairs.add(pair);
    client.on("data", (d) => {
      if (mode === "pass") upstream.write(d);
    });
    upstream.on("data", (d) => {
      if (mode === "pass") client.write(d);
    });
    const close = () => {
      client.destroy();
      upstream.destroy();
      pairs.delete(pair);
    };
    client.on("close", close);
    upstream.on("close", close);
    client.on("error", close);
    upstream.on("error", close);
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  let port = server.address().port;
  let listening = true;
  const destroyAll = () => {
    for (const p of pairs) {
      p.client.destroy();
      if (p.upstream) p.upstream.destroy();
    }
    pairs.clear();
  };
  return {
    get port() {
      return port;
    },
    freeze() {
      mode = "frozen";
    },
    async cut() {
      mode = "cut";
      if (listening) {
        listening = false;
        await new Promise((r) => {
          server.close(() => r());
          destroyAll();
        });
      }
    },
    async heal() {
      destroyAll();
      mode = "pass";
      if (!listening) {
        await new Promise((r, j) => {
          server.once("error", j);
          server.listen(port, "127.0.0.1", r);
        });
        listening = true;
      }
    },
    async close() {
      mode = "cut";
      destroyAll();
      if (listening) await new Promise((r) => server.close(() => r()));
      listening = false;
    },
  };
}

// ------------------------------------------------------------------- psql

export function psql(env, sql) {
  const r = spawnSync("psql", [env.databaseUrl, "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql], {
    encoding: "utf8",
    timeout: 30000,
  });
  if (r.error) throw new Error(`psql: ${r.error.message} (psql is needed to inspect the stored keys)`);
  if (r.status !== 0) throw new Error(`psql failed: ${r.stderr}`);
  return r.stdout.trim();
}

export function sha256Hex(s) {
  return crypto.createHash("sha256").update(s).digest("hex");
}

// Seconds left in the current hourly window (windows start at multiples of
// 3600 s of Unix time). Rate-limit tests wait out the last seconds of a
// window so that no reset happens in the middle of one.
export async function awayFromWindowEdge(marginSeconds = 20) {
  const left = 3600 - (Math.floor(Date.now() / 1000) % 3600);
  if (left <= marginSeconds) await sleep((left + 1) * 1000);
}
