// Black-box contract tests of `querystatus serve` (docs/api.md), driven
// through the binary's CLI and real PostgreSQL and Redis. Every response goes
// through check() (lib/spec.mjs), which validates it against
// openapi/openapi.yaml, before the test's own assertions.
//
// Environment: QS_BINARY, QS_TEST_DATABASE_URL, QS_TEST_REDIS_URL (the suite
// uses logical Redis database 3 of that server and flushes it at start).
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import { request, statusTarget, freshAddress, rawExchange } from "./lib/http.mjs";
import { check, describeExchange, registerSecret, allSecrets } from "./lib/spec.mjs";
import {
  readEnv,
  redisCommands,
  runCli,
  cli,
  createLicense,
  createKey,
  revokeKey,
  putQuery,
  loadRows,
  setQueue,
  startServer,
  startTcpProxy,
  freePort,
  newScheduleId,
  psql,
  sha256Hex,
  sleep,
  awayFromWindowEdge,
  logDirectory,
  RUN_ID,
} from "./lib/harness.mjs";

const MAIN_DEFAULT_LIMIT = 4321; // --rate-limit of the main instance
const MAIN_UNAUTH_LIMIT = 5; // --unauth-rate-limit of the main instance
const BASE_URL = "https://api.example.test";

let env;
let main; // the instance most tests use
const servers = []; // every instance started, for the log scan and clean-up
const fx = {}; // seeded fixtures

// ------------------------------------------------------------------ helpers

function randomToken(prefix = "qsk_") {
  const t = prefix + crypto.randomBytes(32).toString("base64url");
  registerSecret(t);
  return t;
}

// One request to GET /query/status (or `method`), validated by check().
// opts: srv, method, json | rawJson | target, token (Bearer), headers, xff.
async function call(opts = {}) {
  const srv = opts.srv || main;
  const headers = { ...(opts.headers || {}) };
  if (opts.token) headers.Authorization = `Bearer ${opts.token}`;
  const res = await request({
    port: srv.port,
    method: opts.method || "GET",
    path: statusTarget(opts),
    headers,
    xff: opts.xff,
    body: opts.body,
    timeoutMs: opts.timeoutMs,
  });
  res.json = check(res);
  return res;
}

async function admin(srv, path, timeoutMs = 10000) {
  const res = await request({ port: srv.adminPort, path, server: "admin", timeoutMs });
  res.json = check(res);
  return res;
}

function expectStatus(res, code) {
  assert.equal(res.status, code, `expected ${code}\n${describeExchange(res)}`);
}

function header(res, name) {
  return res.headers[name.toLowerCase()];
}

// A problem-details body without its `instance`: that holds the request id,
// random letters that now and then spell a word such as "pq" or "sql".
function problemText(res) {
  const problem = JSON.parse(res.body);
  delete problem.instance;
  return JSON.stringify(problem);
}

function intHeader(res, name) {
  const v = header(res, name);
  assert.ok(v !== undefined, `missing ${name}\n${describeExchange(res)}`);
  return Number(v);
}

function secondsToWindowEnd() {
  return 3600 - (Math.floor(Date.now() / 1000) % 3600);
}

// The path-absolute link the contract's example shows.
function link(scheduleId, start, end, base = "") {
  const json = JSON.stringify({ schedule_id: scheduleId, offset_start: start, offset_end: end });
  // encodeURIComponent leaves !'()* alone; none occur in these links.
  return `${base}/query/status?json=${encodeURIComponent(json)}`;
}

function rowsOf(n, make) {
  return Array.from({ length: n }, (_, i) => make(i));
}

function parseRateLimit(res) {
  const policy = header(res, "RateLimit-Policy");
  const rl = header(res, "RateLimit");
  const p = /^"hourly";q=(\d+);w=3600$/.exec(policy || "");
  const r = /^"hourly";r=(\d+);t=(\d+)$/.exec(rl || "");
  assert.ok(p, `RateLimit-Policy ${policy}\n${describeExchange(res)}`);
  assert.ok(r, `RateLimit ${rl}\n${describeExchange(res)}`);
  return { q: Number(p[1]), r: Number(r[1]), t: Number(r[2]) };
}

async function start(name, options) {
  const srv = await startServer(env, { name, ...options });
  servers.push(srv);
  return srv;
}

// ------------------------------------------------------------------ the suite

it("the environment names the binary, PostgreSQL and Redis (QS_BINARY, QS_TEST_DATABASE_URL, QS_TEST_REDIS_URL)", () => {
  readEnv();
});

describe("querystatus contract", () => {
  before(async () => {
    env = readEnv();
    await redisCommands(env.redisUrl, [["FLUSHDB"]]);
    cli(env, ["migrate", "--database-url", env.databaseUrl]);

    // License A: the default limit, a queue, most queries.
    fx.licA = createLicense(env, { name: `contract A ${RUN_ID}` });
    fx.keyA = createKey(env, { license: fx.licA });
    fx.keyA2 = createKey(env, { license: fx.licA });
    setQueue(env, fx.licA, 7, 3);
    // License B: another customer, no queue row.
    fx.licB = createLicense(env, { name: `contract B ${RUN_ID}` });
    fx.keyB = createKey(env, { license: fx.licB });

    fx.running = newScheduleId("running");
    putQuery(env, { license: fx.licA, scheduleId: fx.running, status: "RUNNING", ready: 1, total: 4 });

    fx.s250 = newScheduleId("s250");
    putQuery(env, { license: fx.licA, scheduleId: fx.s250, status: "SUCCESS", ready: 3, total: 3, finishedAgo: 5 });
    fx.rows250 = rowsOf(250, (i) => ({ i, date: `2026-11-${String((i % 28) + 1).padStart(2, "0")}`, clicks: (i * 7) % 100 }));
    // Two loads: indexes continue from the last row.
    fx.load1 = loadRows(env, fx.s250, fx.rows250.slice(0, 150));
    fx.load2 = loadRows(env, fx.s250, fx.rows250.slice(150));

    fx.big = newScheduleId("big");
    putQuery(env, { license: fx.licA, scheduleId: fx.big, status: "SUCCESS", ready: 1, total: 1, finishedAgo: 1 });
    fx.bigRows = 10005;
    loadRows(env, fx.big, rowsOf(fx.bigRows, (i) => ({ i })));

    fx.emptySuccess = newScheduleId("empty");
    putQuery(env, { license: fx.licA, scheduleId: fx.emptySuccess, status: "SUCCESS", ready: 1, total: 1, finishedAgo: 1 });

    fx.foreign = newScheduleId("foreign");
    putQuery(env, { license: fx.licB, scheduleId: fx.foreign, status: "SUCCESS", ready: 1, total: 1, finishedAgo: 1 });
    loadRows(env, fx.foreign, [{ secret: "license B data" }]);

    fx.expired = newScheduleId("expired");
    putQuery(env, { license: fx.licA, scheduleId: fx.expired, status: "SUCCESS", ready: 1, total: 1, finishedAgo: 7200 });
    loadRows(env, fx.expired, [{ old: true }]);
    fx.recent = newScheduleId("recent");
    putQuery(env, { license: fx.licA, scheduleId: fx.recent, status: "SUCCESS", ready: 1, total: 1, finishedAgo: 3000 });

    fx.licShort = createLicense(env, { name: `contract short ${RUN_ID}`, retentionSeconds: 60 });
    fx.keyShort = createKey(env, { license: fx.licShort });
    fx.shortExpired = newScheduleId("shortexp");
    putQuery(env, { license: fx.licShort, scheduleId: fx.shortExpired, status: "FAILURE", ready: 1, total: 2, finishedAgo: 120 });
    fx.shortFresh = newScheduleId("shortfresh");
    putQuery(env, { license: fx.licShort, scheduleId: fx.shortFresh, status: "FAILURE", ready: 1, total: 2, finishedAgo: 10 });

    fx.byStatus = {};
    for (const code of ["SCHEDULED", "QUEUED", "RUNNING", "SUCCESS", "FAILURE", "STOPPED"]) {
      const id = newScheduleId(code.toLowerCase());
      const finished = ["SUCCESS", "FAILURE", "STOPPED"].includes(code);
      putQuery(env, { license: fx.licA, scheduleId: id, status: code, ready: 0, total: 2, finishedAgo: finished ? 1 : undefined });
      fx.byStatus[code] = id;
    }
    // Rows loaded for queries that are not SUCCESS must not be served.
    fx.runningWithRows = newScheduleId("runrows");
    putQuery(env, { license: fx.licA, scheduleId: fx.runningWithRows, status: "RUNNING", ready: 1, total: 2 });
    loadRows(env, fx.runningWithRows, [{ a: 1 }, { a: 2 }]);
    fx.failedWithRows = newScheduleId("failrows");
    putQuery(env, { license: fx.licA, scheduleId: fx.failedWithRows, status: "FAILURE", ready: 1, total: 2, finishedAgo: 1 });
    loadRows(env, fx.failedWithRows, [{ a: 1 }]);

    fx.exotic = newScheduleId("exotic");
    putQuery(env, { license: fx.licA, scheduleId: fx.exotic, status: "SUCCESS", ready: 1, total: 1, finishedAgo: 1 });
    fx.exoticRows = [
      { text: "naïve café ☕ 日本語", quote: "a \"quoted\" \\ value", nested: { list: [1, 2.5, null, true], empty: {} } },
      { big: 9007199254740991, neg: -12, float: 0.125, s: "" },
    ];
    loadRows(env, fx.exotic, fx.exoticRows);

    main = await start("main", {
      args: ["--rate-limit", String(MAIN_DEFAULT_LIMIT), "--unauth-rate-limit", String(MAIN_UNAUTH_LIMIT), "--log-level", "info"],
    });
  });

  after(async () => {
    const errors = [];
    for (const s of servers) {
      try {
        await s.stop();
      } catch (e) {
        errors.push(e.message);
      }
    }
    if (errors.length) throw new Error(errors.join("\n"));
  });

  // ======================================================== request: 400s
  describe("request validation (400, problem details)", () => {
    const cases = [
      ["json missing", { target: "/query/status" }],
      ["json missing, other parameter given", { target: "/query/status?schedule_id=abc" }],
      ["json empty", { target: "/query/status?json=" }],
      ["json bare (no =)", { target: "/query/status?json" }],
      ["json not valid JSON (unterminated)", { rawJson: '{"schedule_id":"abc"' }],
      ["json not valid JSON (trailing garbage)", { rawJson: '{"schedule_id":"abc"} x' }],
      ["json not valid JSON (bare word)", { rawJson: "abc" }],
      ["json not valid JSON (single quotes)", { rawJson: "{'schedule_id':'abc'}" }],
      ["json with a NUL byte", { target: "/query/status?json=%7B%22schedule_id%22%3A%22abc%22%7D%00" }],
      ["json with invalid UTF-8", { target: "/query/status?json=%7B%22schedule_id%22%3A%22%FF%22%7D" }],
      ["json not an object (array)", { rawJson: '[{"schedule_id":"abc"}]' }],
      ["json not an object (string)", { rawJson: '"abc"' }],
      ["json not an object (number)", { rawJson: "1" }],
      ["json not an object (null)", { rawJson: "null" }],
      ["json not an object (true)", { rawJson: "true" }],
      ["schedule_id missing", { rawJson: '{"offset_start":0}' }],
      ["schedule_id missing (empty object)", { rawJson: "{}" }],
      ["schedule_id empty", { json: { schedule_id: "" } }],
      ["schedule_id 51 characters", { json: { schedule_id: "a".repeat(51) } }],
      ["schedule_id with a space", { json: { schedule_id: "abc def" } }],
      ["schedule_id with a dot", { json: { schedule_id: "abc.def" } }],
      ["schedule_id with a slash", { json: { schedule_id: "abc/def" } }],
      ["schedule_id with a non-ASCII letter", { json: { schedule_id: "abcä" } }],
      ["schedule_id a number", { rawJson: '{"schedule_id":123}' }],
      ["schedule_id null", { rawJson: '{"schedule_id":null}' }],
      ["schedule_id true", { rawJson: '{"schedule_id":true}' }],
      ["schedule_id an array", { rawJson: '{"schedule_id":["abc"]}' }],
      ["schedule_id an object", { rawJson: '{"schedule_id":{"a":"b"}}' }],
      ["api_key empty", { json: { schedule_id: "abc", api_key: "" } }],
      ["api_key 256 characters", { json: { schedule_id: "abc", api_key: "k".repeat(256) } }],
      ["api_key with a dot", { json: { schedule_id: "abc", api_key: "qsk_abc.def" } }],
      ["api_key with a space", { json: { schedule_id: "abc", api_key: "qsk abc" } }],
      ["api_key a number", { rawJson: '{"schedule_id":"abc","api_key":12345}' }],
      ["api_key null", { rawJson: '{"schedule_id":"abc","api_key":null}' }],
      ["duplicate key schedule_id", { rawJson: '{"schedule_id":"abc","schedule_id":"abc"}' }],
      ["duplicate key offset_start", { rawJson: '{"schedule_id":"abc","offset_start":0,"offset_start":0}' }],
      ["duplicate key via an escaped spelling", { rawJson: '{"schedule_id":"abc","sch\\u0065dule_id":"abc"}' }],
      ["unknown key", { rawJson: '{"schedule_id":"abc","limit":10}' }],
      ["unknown key differing only in case", { rawJson: '{"schedule_id":"abc","Offset_start":1}' }],
      ["offset_end < offset_start", { json: { schedule_id: "abc", offset_start: 5, offset_end: 4 } }],
      ["json longer than 4096 bytes", { rawJson: `{"schedule_id":"abc"${" ".repeat(4100)}}` }],
      ["malformed percent escape", { target: "/query/status?json=%7B%22schedule_id%22%3A%22abc%22%7" }],
      ["malformed percent escape (non-hex)", { target: "/query/status?json=%zz" }],
    ];
    for (const field of ["offset_start", "offset_end"]) {
      for (const [what, literal] of [
        ['the string "5"', '"5"'],
        ["5.0", "5.0"],
        ["5e0", "5e0"],
        ["1e2", "1e2"],
        ["true", "true"],
        ["null", "null"],
        ["an array", "[5]"],
        ["an object", '{"v":5}'],
        ["-1", "-1"],
        ["1000001", "1000001"],
        ["a 20-digit integer", "99999999999999999999"],
        ["1e400", "1e400"],
      ]) {
        cases.push([`${field} ${what}`, { rawJson: `{"schedule_id":"abc","${field}":${literal}}` }]);
      }
    }
    it("json given twice: the first occurrence is used", async () => {
      const res = await call({
        target: `/query/status?json=${encodeURIComponent('{"schedule_id":"abc"}')}&json=%7Bnot-json`,
      });
      // Valid first value, no key: 401, not the 400 the second would cause.
      expectStatus(res, 401);
    });
    for (const [name, opts] of cases) {
      it(`400 when ${name}`, async () => {
        const res = await call(opts);
        expectStatus(res, 400);
        assert.equal(res.json.status, 400);
      });
    }

    it("400 when the Authorization header and api_key are both given and differ", async () => {
      const res = await call({ json: { schedule_id: fx.running, api_key: fx.keyA2 }, token: fx.keyA });
      expectStatus(res, 400);
    });

    it("200 when the Authorization header and api_key are both given and equal", async () => {
      const res = await call({ json: { schedule_id: fx.running, api_key: fx.keyA }, token: fx.keyA });
      expectStatus(res, 200);
    });

    it("validation happens before authentication: an invalid request without a key is 400, not 401", async () => {
      const res = await call({ json: { schedule_id: "abc", offset_start: 9, offset_end: 1 } });
      expectStatus(res, 400);
    });

    it("boundary values are accepted: schedule_id of 50 characters, offsets 0 and 1000000, offset_end == offset_start", async () => {
      const r1 = await call({ json: { schedule_id: "a".repeat(50) }, token: fx.keyA });
      expectStatus(r1, 404);
      const r2 = await call({ json: { schedule_id: fx.s250, offset_start: 1000000, offset_end: 1000000 }, token: fx.keyA });
      expectStatus(r2, 200);
      assert.deepEqual(r2.json.data, []);
      const r3 = await call({ json: { schedule_id: fx.s250, offset_start: 7, offset_end: 7 }, token: fx.keyA });
      expectStatus(r3, 200);
      assert.deepEqual(r3.json.data, [fx.rows250[7]]);
      const r4 = await call({ rawJson: `{"schedule_id":"${fx.s250}","offset_start":-0,"offset_end":0}`, token: fx.keyA });
      expectStatus(r4, 200);
      assert.deepEqual(r4.json.data, [fx.rows250[0]]);
    });

    it("an api_key of 255 allowed characters is well-formed (401 unknown, not 400)", async () => {
      const key = "k" + crypto.randomBytes(200).toString("base64url").slice(0, 254);
      registerSecret(key);
      const res = await call({ json: { schedule_id: "abc", api_key: key } });
      expectStatus(res, 401);
    });

    it("the 400 detail never echoes the input", async () => {
      const marker = "zzEchoMarker" + crypto.randomBytes(4).toString("hex");
      const res = await call({ rawJson: `{"schedule_id":"abc","${marker}":1}` });
      expectStatus(res, 400);
      assert.ok(!res.body.includes(marker), res.body);
      const key = randomToken("x.");
      const res2 = await call({ json: { schedule_id: "abc", api_key: key } });
      expectStatus(res2, 400);
    });
  });

  // ================================================= query string decoding
  describe("percent-decoding of the json parameter", () => {
    it("'+' is decoded as a space", async () => {
      const target = `/query/status?json=%7B%22schedule_id%22:+%22${fx.running}%22,+%22offset_start%22:+0%7D`;
      const res = await call({ target, token: fx.keyA });
      expectStatus(res, 200);
      assert.equal(res.json.meta.schedule_id, fx.running);
    });
    it("lower-case hex escapes are decoded", async () => {
      const target = `/query/status?json=${encodeURIComponent(JSON.stringify({ schedule_id: fx.running })).replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase())}`;
      const res = await call({ target, token: fx.keyA });
      expectStatus(res, 200);
    });
    it("whitespace around and inside the object is allowed", async () => {
      const res = await call({ rawJson: ` {\n "schedule_id" : "${fx.running}" } `, token: fx.keyA });
      expectStatus(res, 200);
    });
  });

  // ======================================================= authentication
  describe("authentication (401)", () => {
    const realm = /^Bearer realm="[^"]+"/;

    it("401 without any key, WWW-Authenticate Bearer realm without an error", async () => {
      const res = await call({ json: { schedule_id: fx.running } });
      expectStatus(res, 401);
      const www = header(res, "WWW-Authenticate");
      assert.match(www, realm);
      assert.doesNotMatch(www, /error=/, "no error code when no key was given (RFC 6750 3.1)");
    });

    it("401 with an unknown Bearer key, WWW-Authenticate error=\"invalid_token\"", async () => {
      const res = await call({ json: { schedule_id: fx.running }, token: randomToken() });
      expectStatus(res, 401);
      assert.match(header(res, "WWW-Authenticate"), realm);
      assert.match(header(res, "WWW-Authenticate"), /error="invalid_token"/);
    });

    it("401 with an unknown api_key in json, error=\"invalid_token\"", async () => {
      const res = await call({ json: { schedule_id: fx.running, api_key: randomToken() } });
      expectStatus(res, 401);
      assert.match(header(res, "WWW-Authenticate"), /error="invalid_token"/);
    });

    it("401 with a revoked key", async () => {
      const key = createKey(env, { license: fx.licA });
      revokeKey(env, key);
      const res = await call({ json: { schedule_id: fx.running }, token: key });
      expectStatus(res, 401);
      assert.match(header(res, "WWW-Authenticate"), /error="invalid_token"/);
    });

    it("401 with an expired key (also one that worked before it expired)", { timeout: 20000 }, async () => {
      const key = createKey(env, { license: fx.licA, expiresInSeconds: 2 });
      const ok = await call({ json: { schedule_id: fx.running }, token: key });
      expectStatus(ok, 200);
      await sleep(3200);
      const res = await call({ json: { schedule_id: fx.running }, token: key });
      expectStatus(res, 401);
      assert.match(header(res, "WWW-Authenticate"), /error="invalid_token"/);
      const viaJson = await call({ json: { schedule_id: fx.running, api_key: key } });
      expectStatus(viaJson, 401);
    });

    it("a key revoked after use stops working within the 5 s key-cache TTL", { timeout: 30000 }, async () => {
      const key = createKey(env, { license: fx.licA });
      expectStatus(await call({ json: { schedule_id: fx.running }, token: key }), 200);
      revokeKey(env, key);
      const revokedAt = Date.now();
      let res;
      for (;;) {
        res = await call({ json: { schedule_id: fx.running }, token: key });
        if (res.status === 401 || Date.now() - revokedAt > 7000) break;
        expectStatus(res, 200);
        await sleep(250);
      }
      expectStatus(res, 401);
      assert.ok(Date.now() - revokedAt <= 7000);
    });

    it("401 for a malformed Bearer token, a Bearer header without a token, and another scheme", async () => {
      for (const authorization of ["Bearer abc.def", "Bearer ", "Bearer", `Basic ${Buffer.from("u:p").toString("base64")}`, `Token ${fx.keyA}`]) {
        const res = await call({ json: { schedule_id: fx.running }, headers: { Authorization: authorization } });
        expectStatus(res, 401);
        assert.match(header(res, "WWW-Authenticate"), realm);
      }
    });

    for (const scheme of ["bearer", "BEARER", "BeArEr"]) {
      it(`the Bearer scheme is case-insensitive: "${scheme}"`, async () => {
        const res = await call({ json: { schedule_id: fx.running }, headers: { Authorization: `${scheme} ${fx.keyA}` } });
        expectStatus(res, 200);
      });
    }

    it("api_key in json authenticates when there is no Authorization header", async () => {
      const res = await call({ json: { schedule_id: fx.running, api_key: fx.keyA } });
      expectStatus(res, 200);
      assert.equal(res.json.meta.schedule_id, fx.running);
    });

    it("401 responses never echo the key", async () => {
      const key = randomToken();
      const res = await call({ json: { schedule_id: fx.running, api_key: key } });
      expectStatus(res, 401); // check() fails if the key appears anywhere
    });
  });

  // ====================================================== visibility / 404
  describe("visibility and expiry (404)", () => {
    it("404 {\"error\":\"STATUS_NOT_FOUND\"} for an unknown schedule_id", async () => {
      const res = await call({ json: { schedule_id: newScheduleId("unknown") }, token: fx.keyA });
      expectStatus(res, 404);
      assert.deepEqual(res.json, { error: "STATUS_NOT_FOUND" });
      assert.match(header(res, "Content-Type"), /^application\/json/);
    });

    it("another license's schedule_id is indistinguishable from an unknown one", async () => {
      const unknown = await call({ json: { schedule_id: newScheduleId("unknown") }, token: fx.keyA });
      const foreign = await call({ json: { schedule_id: fx.foreign }, token: fx.keyA });
      expectStatus(unknown, 404);
      expectStatus(foreign, 404);
      assert.equal(foreign.body, unknown.body);
      const names = (r) => r.rawHeaders.filter((_, i) => i % 2 === 0).map((h) => h.toLowerCase()).sort();
      assert.deepEqual(names(foreign), names(unknown));
      // ...and its owner does see it.
      expectStatus(await call({ json: { schedule_id: fx.foreign }, token: fx.keyB }), 200);
    });

    it("a finished query past the default 1 hour retention is 404; within it, 200", async () => {
      const expired = await call({ json: { schedule_id: fx.expired }, token: fx.keyA });
      expectStatus(expired, 404);
      const unknown = await call({ json: { schedule_id: newScheduleId("unknown") }, token: fx.keyA });
      assert.equal(expired.body, unknown.body);
      expectStatus(await call({ json: { schedule_id: fx.recent }, token: fx.keyA }), 200);
    });

    it("retention is per license (--retention-seconds)", async () => {
      expectStatus(await call({ json: { schedule_id: fx.shortExpired }, token: fx.keyShort }), 404);
      const fresh = await call({ json: { schedule_id: fx.shortFresh }, token: fx.keyShort });
      expectStatus(fresh, 200);
      assert.equal(fresh.json.meta.status_code, "FAILURE");
    });

    it("authentication comes before the lookup: an unknown schedule_id without a key is 401", async () => {
      expectStatus(await call({ json: { schedule_id: newScheduleId("unknown") } }), 401);
    });
  });

  // ========================================================= 200 response
  describe("200 response", () => {
    it("RUNNING: meta with progress and workflow, no result or paginate, empty data", async () => {
      const res = await call({ json: { schedule_id: fx.running }, token: fx.keyA });
      expectStatus(res, 200);
      assert.match(header(res, "Content-Type"), /^application\/json/);
      const { meta, data } = res.json;
      assert.deepEqual(Object.keys(res.json).sort(), ["data", "meta"]);
      assert.equal(meta.schedule_id, fx.running);
      assert.equal(meta.status_code, "RUNNING");
      assert.deepEqual(meta.progress, { queries_ready: 1, queries_total: 4 });
      assert.deepEqual(meta.workflow, { tasks_scheduled: 7, tasks_running: 3 });
      assert.ok(!("paginate" in meta), "paginate is left out, not null, unless SUCCESS");
      assert.ok(!("result" in meta));
      assert.deepEqual(data, []);
    });

    for (const code of ["SCHEDULED", "QUEUED", "RUNNING", "SUCCESS", "FAILURE", "STOPPED"]) {
      it(`status_code ${code} is reported as stored`, async () => {
        const res = await call({ json: { schedule_id: fx.byStatus[code] }, token: fx.keyA });
        expectStatus(res, 200);
        assert.equal(res.json.meta.status_code, code);
        assert.deepEqual(res.json.meta.progress, { queries_ready: 0, queries_total: 2 });
        assert.equal("paginate" in res.json.meta, code === "SUCCESS");
        assert.equal("result" in res.json.meta, code === "SUCCESS");
      });
    }

    it("data is empty unless SUCCESS, even when rows exist", async () => {
      for (const id of [fx.runningWithRows, fx.failedWithRows]) {
        const res = await call({ json: { schedule_id: id, offset_start: 0, offset_end: 99 }, token: fx.keyA });
        expectStatus(res, 200);
        assert.deepEqual(res.json.data, []);
      }
    });

    it("SUCCESS, offset 0..99 of 250 rows: rows 0..99 in order, total_rows 250, prev null, next link exact", async () => {
      const res = await call({ json: { schedule_id: fx.s250, offset_start: 0, offset_end: 99 }, token: fx.keyA });
      expectStatus(res, 200);
      const { meta, data } = res.json;
      assert.equal(meta.status_code, "SUCCESS");
      assert.deepEqual(meta.progress, { queries_ready: 3, queries_total: 3 });
      assert.deepEqual(meta.result, { total_rows: 250 });
      assert.equal(data.length, 100);
      assert.deepEqual(data, fx.rows250.slice(0, 100));
      assert.deepEqual(meta.paginate, { prev: null, next: link(fx.s250, 100, 199) });
    });

    it("SUCCESS, middle page 100..199: prev and next links exact", async () => {
      const res = await call({ json: { schedule_id: fx.s250, offset_start: 100, offset_end: 199 }, token: fx.keyA });
      expectStatus(res, 200);
      assert.deepEqual(res.json.data, fx.rows250.slice(100, 200));
      assert.deepEqual(res.json.meta.paginate, { prev: link(fx.s250, 0, 99), next: link(fx.s250, 200, 299) });
    });

    it("SUCCESS, last page 200..299 of 250: the 50 rows that exist, next null", async () => {
      const res = await call({ json: { schedule_id: fx.s250, offset_start: 200, offset_end: 299 }, token: fx.keyA });
      expectStatus(res, 200);
      assert.deepEqual(res.json.data, fx.rows250.slice(200));
      assert.deepEqual(res.json.meta.paginate, { prev: link(fx.s250, 100, 199), next: null });
      assert.deepEqual(res.json.meta.result, { total_rows: 250 });
    });

    it("SUCCESS, a range past the last row: empty data, still 200", async () => {
      const res = await call({ json: { schedule_id: fx.s250, offset_start: 300, offset_end: 399 }, token: fx.keyA });
      expectStatus(res, 200);
      assert.equal(res.json.meta.status_code, "SUCCESS");
      assert.deepEqual(res.json.data, []);
      assert.equal(res.json.meta.paginate.next, null);
    });

    it("rows load appends: two loads (150 + 100) give indexes 0..249 in order", async () => {
      assert.equal(fx.load1, 150);
      assert.equal(fx.load2, 100);
      const res = await call({ json: { schedule_id: fx.s250, offset_start: 145, offset_end: 154 }, token: fx.keyA });
      expectStatus(res, 200);
      assert.deepEqual(res.json.data, fx.rows250.slice(145, 155));
    });

    it("following next links visits every row exactly once", async () => {
      let target = statusTarget({ json: { schedule_id: fx.s250, offset_start: 0, offset_end: 99 } });
      const seen = [];
      for (let pages = 0; target && pages < 10; pages++) {
        const res = await call({ target, token: fx.keyA });
        expectStatus(res, 200);
        seen.push(...res.json.data);
        target = res.json.meta.paginate.next;
      }
      assert.deepEqual(seen, fx.rows250);
    });

    it("no offset_end: the page holds at most 10000 rows (10005 loaded)", async () => {
      const res = await call({ json: { schedule_id: fx.big }, token: fx.keyA });
      expectStatus(res, 200);
      assert.equal(res.json.data.length, 10000);
      assert.deepEqual(res.json.data[0], { i: 0 });
      assert.deepEqual(res.json.data[9999], { i: 9999 });
      assert.ok(res.json.data.every((r, i) => r.i === i), "rows in row-index order");
      assert.deepEqual(res.json.meta.result, { total_rows: fx.bigRows });
      assert.deepEqual(res.json.meta.paginate, { prev: null, next: link(fx.big, 10000, 19999) });
    });

    it("a range wider than 10000 rows is capped at 10000", async () => {
      const res = await call({ json: { schedule_id: fx.big, offset_start: 3, offset_end: 50000 }, token: fx.keyA });
      expectStatus(res, 200);
      assert.equal(res.json.data.length, 10000);
      assert.deepEqual(res.json.data[0], { i: 3 });
      assert.deepEqual(res.json.data[9999], { i: 10002 });
    });

    it("offset_start 10000 without offset_end: the 5 remaining rows", async () => {
      const res = await call({ json: { schedule_id: fx.big, offset_start: 10000 }, token: fx.keyA });
      expectStatus(res, 200);
      assert.deepEqual(res.json.data, [{ i: 10000 }, { i: 10001 }, { i: 10002 }, { i: 10003 }, { i: 10004 }]);
      assert.deepEqual(res.json.meta.paginate, { prev: link(fx.big, 0, 9999), next: null });
    });

    it("SUCCESS with no rows: total_rows 0, empty data, both links null", async () => {
      const res = await call({ json: { schedule_id: fx.emptySuccess }, token: fx.keyA });
      expectStatus(res, 200);
      assert.deepEqual(res.json.meta.result, { total_rows: 0 });
      assert.deepEqual(res.json.meta.paginate, { prev: null, next: null });
      assert.deepEqual(res.json.data, []);
    });

    it("rows are served exactly as loaded (unicode, escapes, nesting, numbers)", async () => {
      const res = await call({ json: { schedule_id: fx.exotic }, token: fx.keyA });
      expectStatus(res, 200);
      assert.deepEqual(res.json.data, fx.exoticRows);
    });

    it("workflow shows the license's queue counts; 0/0 for a license whose queue was never set", async () => {
      const a1 = await call({ json: { schedule_id: fx.running }, token: fx.keyA });
      const a2 = await call({ json: { schedule_id: fx.s250, offset_end: 0 }, token: fx.keyA });
      assert.deepEqual(a1.json.meta.workflow, { tasks_scheduled: 7, tasks_running: 3 });
      assert.deepEqual(a2.json.meta.workflow, { tasks_scheduled: 7, tasks_running: 3 });
      const b = await call({ json: { schedule_id: fx.foreign }, token: fx.keyB });
      expectStatus(b, 200);
      assert.deepEqual(b.json.meta.workflow, { tasks_scheduled: 0, tasks_running: 0 });
    });

    it("request_id: matches ^[A-Za-z0-9_-]+$ (<= 50), equals X-Request-Id, unique per request", async () => {
      const ids = new Set();
      for (let i = 0; i < 25; i++) {
        const res = await call({ json: { schedule_id: fx.running }, token: fx.keyA });
        expectStatus(res, 200);
        const id = res.json.meta.request_id;
        assert.match(id, /^[A-Za-z0-9_-]{1,50}$/);
        assert.equal(header(res, "X-Request-Id"), id);
        ids.add(id);
        const err = await call({ json: { schedule_id: fx.running } });
        ids.add(header(err, "X-Request-Id"));
      }
      assert.equal(ids.size, 50, "every request gets its own id");
    });

    it("the request id is written in the access log", { timeout: 15000 }, async () => {
      const res = await call({ json: { schedule_id: fx.running }, token: fx.keyA });
      const id = header(res, "X-Request-Id");
      const deadline = Date.now() + 5000;
      while (!main.log().includes(id) && Date.now() < deadline) await sleep(100);
      assert.ok(main.log().includes(id), `request id ${id} not found in the log ${main.logPath}`);
    });
  });

  // ================================================== headers on every status
  describe("headers on every response", () => {
    const exposeNeeded = ["X-RateLimit-Limit", "X-RateLimit-Remaining", "RateLimit-Policy", "RateLimit", "Retry-After", "X-Request-Id"];

    async function oneOfEach() {
      const limited = createKey(env, { license: fx.licA, rateLimit: 1 });
      await awayFromWindowEdge(5);
      await call({ json: { schedule_id: fx.running }, token: limited });
      return {
        200: await call({ json: { schedule_id: fx.running }, token: fx.keyA, headers: { Origin: "https://app.example.test" } }),
        400: await call({ target: "/query/status?json=%7B" }),
        401: await call({ json: { schedule_id: fx.running } }),
        404: await call({ json: { schedule_id: newScheduleId("none") }, token: fx.keyA }),
        429: await call({ json: { schedule_id: fx.running }, token: limited }),
        204: await call({ method: "OPTIONS", headers: { Origin: "https://app.example.test", "Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "authorization" } }),
        405: await call({ method: "POST", json: { schedule_id: fx.running }, token: fx.keyA }),
      };
    }

    it("Access-Control-Allow-Origin *, Cache-Control no-store, X-Request-Id and Expose-Headers on 200, 204, 400, 401, 404, 405, 429", async () => {
      const all = await oneOfEach();
      for (const [code, res] of Object.entries(all)) {
        expectStatus(res, Number(code));
        assert.equal(header(res, "Access-Control-Allow-Origin"), "*", `${code}`);
        assert.match(header(res, "Cache-Control"), /no-store/, `${code}`);
        assert.match(header(res, "X-Request-Id"), /^[A-Za-z0-9_-]{1,50}$/, `${code}`);
        const exposed = (header(res, "Access-Control-Expose-Headers") || "").split(",").map((s) => s.trim().toLowerCase());
        for (const h of exposeNeeded) assert.ok(exposed.includes(h.toLowerCase()), `${code}: Expose-Headers lacks ${h}\n${describeExchange(res)}`);
      }
    });

    it("X-RateLimit-* and the draft RateLimit fields agree on 200, 400, 401, 404, 429", async () => {
      const all = await oneOfEach();
      for (const code of ["200", "400", "401", "404", "429"]) {
        const res = all[code];
        const limit = intHeader(res, "X-RateLimit-Limit");
        const remaining = intHeader(res, "X-RateLimit-Remaining");
        const { q, r, t } = parseRateLimit(res);
        assert.equal(q, limit, `${code}: RateLimit-Policy q = X-RateLimit-Limit`);
        assert.equal(r, remaining, `${code}: RateLimit r = X-RateLimit-Remaining`);
        assert.ok(Math.abs(t - secondsToWindowEnd()) <= 2, `${code}: t=${t} is the time to the end of the hourly window (${secondsToWindowEnd()})`);
      }
      assert.equal(intHeader(all[200], "X-RateLimit-Limit"), MAIN_DEFAULT_LIMIT);
      assert.equal(intHeader(all[400], "X-RateLimit-Limit"), MAIN_UNAUTH_LIMIT, "400s are counted per client address");
      assert.equal(intHeader(all[401], "X-RateLimit-Limit"), MAIN_UNAUTH_LIMIT, "401s are counted per client address");
    });

    it("an unknown path on the public listener is 404 and still carries the every-response headers", async () => {
      const res = await request({ port: main.port, path: "/query/nothing-here" });
      check(res);
      expectStatus(res, 404);
    });
  });

  // ======================================================= methods and CORS
  describe("methods and CORS", () => {
    it("OPTIONS preflight: 204, allows GET and the Authorization header, any origin", async () => {
      const res = await call({
        method: "OPTIONS",
        headers: { Origin: "https://app.example.test", "Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "authorization" },
      });
      expectStatus(res, 204);
      assert.equal(res.body, "");
      assert.equal(header(res, "Access-Control-Allow-Origin"), "*");
      const methods = header(res, "Access-Control-Allow-Methods").split(",").map((s) => s.trim().toUpperCase());
      assert.ok(methods.includes("GET"), `Allow-Methods ${methods}`);
      const allowed = header(res, "Access-Control-Allow-Headers").split(",").map((s) => s.trim().toLowerCase());
      assert.ok(allowed.includes("authorization"), `Allow-Headers ${allowed}`);
    });

    for (const method of ["POST", "PUT", "PATCH", "DELETE"]) {
      it(`${method} is 405 with Allow: GET, OPTIONS`, async () => {
        const res = await call({ method, json: { schedule_id: fx.running }, token: fx.keyA, body: "" });
        expectStatus(res, 405);
        const allow = header(res, "Allow").split(",").map((s) => s.trim().toUpperCase()).sort();
        assert.deepEqual(allow, ["GET", "OPTIONS"]);
      });
    }

    it("HEAD is 405 too (only GET and OPTIONS are allowed), and its response has no body", async () => {
      const target = statusTarget({ json: { schedule_id: fx.running } });
      const { data } = await rawExchange(
        main.port,
        `HEAD ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${fx.keyA}\r\nX-Forwarded-For: ${freshAddress()}\r\nConnection: close\r\n\r\n`,
      );
      const end = data.indexOf("\r\n\r\n");
      assert.ok(end > 0, `no complete response to HEAD: ${JSON.stringify(data)}`);
      const head = data.slice(0, end);
      assert.match(head, /^HTTP\/1\.1 405 /, head);
      assert.match(head, /\r\nAllow: *(GET, *OPTIONS|OPTIONS, *GET)\r\n/i, head);
      assert.match(head, /\r\nAccess-Control-Allow-Origin: \*\r\n/i, head);
      assert.equal(data.slice(end + 4), "", `a HEAD response must not carry a body (RFC 9110 9.3.2); got:\n${data}`);
    });
  });

  // ============================================================ rate limits
  describe("conditional requests (ETag, If-None-Match, 304)", () => {
    const TAG = /^W\/"[A-Za-z0-9_-]{1,64}"$/;

    it("every 200 carries a weak ETag and Vary: Accept-Encoding; the tag leaves out request_id", async () => {
      const a = await call({ json: { schedule_id: fx.s250, offset_start: 0, offset_end: 9 }, token: fx.keyA });
      const b = await call({ json: { schedule_id: fx.s250, offset_start: 0, offset_end: 9 }, token: fx.keyA });
      expectStatus(a, 200);
      expectStatus(b, 200);
      assert.match(header(a, "ETag"), TAG);
      assert.equal(header(a, "Vary"), "Accept-Encoding");
      assert.notEqual(a.json.meta.request_id, b.json.meta.request_id);
      assert.equal(header(a, "ETag"), header(b, "ETag"));
      // Another page is another representation.
      const other = await call({ json: { schedule_id: fx.s250, offset_start: 10, offset_end: 19 }, token: fx.keyA });
      assert.notEqual(header(other, "ETag"), header(a, "ETag"));
    });

    it("a change to the query gives a new tag, and the old one then gets a full 200", async () => {
      const id = newScheduleId("etagchange");
      putQuery(env, { license: fx.licA, scheduleId: id, status: "RUNNING", ready: 1, total: 4 });
      const before = await call({ json: { schedule_id: id }, token: fx.keyA });
      expectStatus(before, 200);
      putQuery(env, { license: fx.licA, scheduleId: id, status: "RUNNING", ready: 2, total: 4 });
      let after;
      const deadline = Date.now() + 2000;
      do {
        after = await call({ json: { schedule_id: id }, token: fx.keyA, headers: { "If-None-Match": header(before, "ETag") } });
        if (after.status === 200) break;
        await sleep(50);
      } while (Date.now() < deadline);
      expectStatus(after, 200);
      assert.equal(after.json.meta.progress.queries_ready, 2);
      assert.notEqual(header(after, "ETag"), header(before, "ETag"));
    });

    it("a matching If-None-Match is 304 with no body and the headers of the contract", async () => {
      const full = await call({ json: { schedule_id: fx.running }, token: fx.keyA });
      const res = await call({ json: { schedule_id: fx.running }, token: fx.keyA, headers: { "If-None-Match": header(full, "ETag") } });
      expectStatus(res, 304);
      assert.equal(res.body, "");
      assert.equal(header(res, "ETag"), header(full, "ETag"));
      assert.equal(header(res, "Vary"), "Accept-Encoding");
      assert.equal(header(res, "Cache-Control"), "no-store");
      assert.equal(header(res, "Access-Control-Allow-Origin"), "*");
      assert.ok(header(res, "X-Request-Id"));
      for (const h of ["X-RateLimit-Limit", "X-RateLimit-Remaining", "RateLimit", "RateLimit-Policy"]) {
        assert.ok(header(res, h) !== undefined, `304 lacks ${h}`);
      }
      assert.equal(header(res, "Content-Length"), undefined, "a 304 claims no length");
    });

    it("a 304 is free: X-RateLimit-Remaining does not move, the next 200 costs one", async () => {
      const key = createKey(env, { license: fx.licA, rateLimit: 10 });
      await awayFromWindowEdge();
      const full = await call({ json: { schedule_id: fx.running }, token: key });
      expectStatus(full, 200);
      assert.equal(intHeader(full, "X-RateLimit-Remaining"), 9);
      for (let i = 0; i < 5; i++) {
        const res = await call({ json: { schedule_id: fx.running }, token: key, headers: { "If-None-Match": header(full, "ETag") } });
        expectStatus(res, 304);
        assert.equal(intHeader(res, "X-RateLimit-Remaining"), 9);
        assert.equal(intHeader(res, "X-RateLimit-Limit"), 10);
      }
      const next = await call({ json: { schedule_id: fx.running }, token: key });
      assert.equal(intHeader(next, "X-RateLimit-Remaining"), 8);
    });

    it("lists, * and the strong form match by weak comparison; a list without the tag is a 200", async () => {
      const full = await call({ json: { schedule_id: fx.running }, token: fx.keyA });
      const etag = header(full, "ETag");
      const strong = etag.slice(2);
      for (const inm of ["*", strong, `"nope", ${etag}`, `W/"nope",${strong}`, ` ${etag} `]) {
        const res = await call({ json: { schedule_id: fx.running }, token: fx.keyA, headers: { "If-None-Match": inm } });
        expectStatus(res, 304);
      }
      for (const inm of ['"nope"', `W/"x", "y"`, "garbage", ""]) {
        const res = await call({ json: { schedule_id: fx.running }, token: fx.keyA, headers: { "If-None-Match": inm } });
        expectStatus(res, 200);
      }
    });

    it("a key over its limit gets 429, not 304", async () => {
      const key = createKey(env, { license: fx.licA, rateLimit: 2 });
      await awayFromWindowEdge();
      let etag;
      for (let i = 0; i < 2; i++) etag = header(await call({ json: { schedule_id: fx.running }, token: key }), "ETag");
      const res = await call({ json: { schedule_id: fx.running }, token: key, headers: { "If-None-Match": etag } });
      expectStatus(res, 429);
      assert.equal(intHeader(res, "X-RateLimit-Remaining"), 0);
      assert.ok(intHeader(res, "Retry-After") >= 1);
    });

    it("validation and authentication come first: 400, 401 and 404 whatever If-None-Match says", async () => {
      const inm = { "If-None-Match": "*" };
      expectStatus(await call({ rawJson: "{not json", token: fx.keyA, headers: inm, xff: freshAddress() }), 400);
      expectStatus(await call({ json: { schedule_id: fx.running }, headers: inm, xff: freshAddress() }), 401);
      expectStatus(await call({ json: { schedule_id: newScheduleId("none") }, token: fx.keyA, headers: inm }), 404);
    });

    it("browsers may send If-None-Match and read ETag (CORS)", async () => {
      const pre = await call({ method: "OPTIONS", json: { schedule_id: fx.running } });
      const allowed = header(pre, "Access-Control-Allow-Headers").split(",").map((x) => x.trim().toLowerCase());
      assert.ok(allowed.includes("if-none-match"), `Allow-Headers ${allowed}`);
      const res = await call({ json: { schedule_id: fx.running }, token: fx.keyA });
      const exposed = header(res, "Access-Control-Expose-Headers").split(",").map((x) => x.trim().toLowerCase());
      assert.ok(exposed.includes("etag"), `Expose-Headers ${exposed}`);
    });
  });

  describe("long poll (Prefer: wait)", () => {
    // A query of its own, RUNNING; its current tag.
    async function freshQuery(prefix, key) {
      const id = newScheduleId(prefix);
      putQuery(env, { license: fx.licA, scheduleId: id, status: "RUNNING", ready: 1, total: 4 });
      const full = await call({ json: { schedule_id: id }, token: key });
      expectStatus(full, 200);
      return { id, full, etag: header(full, "ETag") };
    }

    async function heldCount(srv) {
      const m = /^querystatus_held_requests (\S+)$/m.exec((await admin(srv, "/metrics")).body);
      return m ? Number(m[1]) : NaN;
    }

    async function untilHeld(srv, n) {
      const deadline = Date.now() + 5000;
      while ((await heldCount(srv)) !== n) {
        assert.ok(Date.now() < deadline, `never ${n} held requests`);
        await sleep(20);
      }
    }

    it("a matching tag with Prefer: wait is held until the wait ends, then 304 with Preference-Applied, free", async () => {
      const key = createKey(env, { license: fx.licA, rateLimit: 10 });
      await awayFromWindowEdge();
      const q = await freshQuery("waitend", key);
      assert.equal(intHeader(q.full, "X-RateLimit-Remaining"), 9);
      const t0 = Date.now();
      const res = await call({ json: { schedule_id: q.id }, token: key, headers: { "If-None-Match": q.etag, Prefer: "wait=2" }, timeoutMs: 10000 });
      const took = Date.now() - t0;
      expectStatus(res, 304);
      assert.ok(took >= 1900 && took < 4000, `held ${took} ms for wait=2`);
      assert.equal(header(res, "Preference-Applied"), "wait=2");
      assert.equal(header(res, "ETag"), q.etag);
      assert.equal(intHeader(res, "X-RateLimit-Remaining"), 9, "a held 304 spent budget");
    });

    it("a change while held answers 200 at once with the new state, counted, with Preference-Applied", async () => {
      const key = createKey(env, { license: fx.licA, rateLimit: 10 });
      await awayFromWindowEdge();
      const q = await freshQuery("waitchange", key);
      const pending = call({ json: { schedule_id: q.id }, token: key, headers: { "If-None-Match": q.etag, Prefer: "wait=20" }, timeoutMs: 30000 });
      await untilHeld(main, 1);
      putQuery(env, { license: fx.licA, scheduleId: q.id, status: "RUNNING", ready: 3, total: 4 });
      const committed = Date.now();
      const res = await pending;
      const took = Date.now() - committed;
      expectStatus(res, 200);
      assert.ok(took < 1000, `answered ${took} ms after the commit`);
      assert.equal(header(res, "Preference-Applied"), "wait=20");
      assert.notEqual(header(res, "ETag"), q.etag);
      assert.equal(res.json.meta.progress.queries_ready, 3);
      assert.equal(intHeader(res, "X-RateLimit-Remaining"), 8, "the change's 200 is counted once");
    });

    it("without a matching tag, with wait=0 or an invalid preference, the answer is at once and has no Preference-Applied", async () => {
      const q = await freshQuery("waitnone", fx.keyA);
      const cases = [
        [{ Prefer: "wait=5" }, 200],
        [{ Prefer: "wait=5", "If-None-Match": '"other"' }, 200],
        [{ Prefer: "wait=0", "If-None-Match": q.etag }, 304],
        [{ Prefer: "wait=-1", "If-None-Match": q.etag }, 304],
        [{ Prefer: "wait=1.5", "If-None-Match": q.etag }, 304],
        [{ Prefer: "wait", "If-None-Match": q.etag }, 304],
        [{ Prefer: "respond-async", "If-None-Match": q.etag }, 304],
      ];
      for (const [headers, status] of cases) {
        const t0 = Date.now();
        const res = await call({ json: { schedule_id: q.id }, token: fx.keyA, headers });
        expectStatus(res, status);
        assert.ok(Date.now() - t0 < 900, `${JSON.stringify(headers)} was held`);
        assert.equal(header(res, "Preference-Applied"), undefined, JSON.stringify(headers));
      }
    });

    it("past --max-waiters-per-key (10) a request is answered at once without Preference-Applied", async () => {
      const key = createKey(env, { license: fx.licA, rateLimit: 100 });
      await awayFromWindowEdge();
      const q = await freshQuery("waitbound", key);
      const wait = { "If-None-Match": q.etag, Prefer: "wait=20" };
      const held = [];
      for (let i = 0; i < 10; i++) {
        held.push(call({ json: { schedule_id: q.id }, token: key, headers: wait, timeoutMs: 30000 }));
      }
      await untilHeld(main, 10);
      const t0 = Date.now();
      const eleventh = await call({ json: { schedule_id: q.id }, token: key, headers: wait });
      expectStatus(eleventh, 304);
      assert.ok(Date.now() - t0 < 900, "the eleventh was held");
      assert.equal(header(eleventh, "Preference-Applied"), undefined);
      // Another key of the license still gets its own ten.
      const other = await call({ json: { schedule_id: q.id }, token: fx.keyA2, headers: { ...wait, Prefer: "wait=1" }, timeoutMs: 10000 });
      assert.equal(header(other, "Preference-Applied"), "wait=1");
      putQuery(env, { license: fx.licA, scheduleId: q.id, status: "QUEUED", ready: 0, total: 4 });
      for (const res of await Promise.all(held)) {
        expectStatus(res, 200);
        assert.equal(header(res, "Preference-Applied"), "wait=20");
        assert.equal(res.json.meta.status_code, "QUEUED");
      }
    });

    it("browsers may send Prefer and read Preference-Applied (CORS)", async () => {
      const pre = await call({ method: "OPTIONS", json: { schedule_id: fx.running } });
      const allowed = header(pre, "Access-Control-Allow-Headers").split(",").map((x) => x.trim().toLowerCase());
      assert.ok(allowed.includes("prefer"), `Allow-Headers ${allowed}`);
      const res = await call({ json: { schedule_id: fx.running }, token: fx.keyA });
      const exposed = header(res, "Access-Control-Expose-Headers").split(",").map((x) => x.trim().toLowerCase());
      assert.ok(exposed.includes("preference-applied"), `Expose-Headers ${exposed}`);
    });
  });

  describe("content codings (Accept-Encoding)", () => {
    let key;
    before(() => {
      key = createKey(env, { license: fx.licA });
    });
    const page10k = (extra = {}) => ({ json: { schedule_id: fx.big, offset_start: 0, offset_end: 9999 }, token: key, ...extra });
    const page100 = (ae) => ({ json: { schedule_id: fx.s250, offset_start: 0, offset_end: 99 }, token: key, headers: ae === undefined ? {} : { "Accept-Encoding": ae } });

    // The decoded answer is the identity answer: the same JSON but for its
    // own request_id, which is the X-Request-Id of its response.
    function assertSameAnswer(encoded, identity) {
      assert.equal(encoded.json.meta.request_id, header(encoded, "X-Request-Id"));
      const strip = (j) => ({ ...j, meta: { ...j.meta, request_id: "" } });
      assert.deepEqual(strip(encoded.json), strip(identity.json));
    }

    function metric(text, name, coding) {
      const m = text.match(new RegExp(`^${name}\\{coding="${coding}"\\} ([0-9.e+]+)$`, "m"));
      assert.ok(m, `no ${name}{coding="${coding}"} in /metrics`);
      return Number(m[1]);
    }

    it("gzip: a 10,000-row page comes as gzip, Content-Length of the encoded bytes, decoding to the identity answer", async () => {
      const identity = await call(page10k());
      const res = await call(page10k({ headers: { "Accept-Encoding": "gzip" } }));
      expectStatus(res, 200);
      assert.equal(header(identity, "Content-Encoding"), undefined);
      assert.equal(header(res, "Content-Encoding"), "gzip");
      assert.equal(header(res, "Vary"), "Accept-Encoding");
      assert.equal(intHeader(res, "Content-Length"), res.bytes.length);
      assert.deepEqual([...res.bytes.subarray(0, 3)], [0x1f, 0x8b, 8], "a gzip member");
      assert.ok(res.bytes.length * 3 < res.body.length, `${res.bytes.length} encoded bytes of ${res.body.length}`);
      assert.equal(res.json.data.length, 10000);
      assertSameAnswer(res, identity);
      assert.equal(header(res, "ETag"), header(identity, "ETag"), "the tag does not depend on the coding");
    });

    it("zstd: a 10,000-row page comes as one zstd frame, decoding to the identity answer", async () => {
      const identity = await call(page10k());
      const res = await call(page10k({ headers: { "Accept-Encoding": "zstd" } }));
      expectStatus(res, 200);
      assert.equal(header(res, "Content-Encoding"), "zstd");
      assert.equal(intHeader(res, "Content-Length"), res.bytes.length);
      assert.deepEqual([...res.bytes.subarray(0, 4)], [0x28, 0xb5, 0x2f, 0xfd], "a zstd frame");
      assert.ok(res.bytes.length * 3 < res.body.length, `${res.bytes.length} encoded bytes of ${res.body.length}`);
      // One frame: a client that stops after the first frame reads it all.
      const file = `${logDirectory()}/page10k-${RUN_ID}.zst`;
      fs.writeFileSync(file, res.bytes);
      const listing = execFileSync("zstd", ["-lv", file], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
      assert.match(listing, /Zstandard Frames: 1\b/, listing);
      assertSameAnswer(res, identity);
    });

    it("q-values choose the coding, zstd wins a tie; gzip;q=0, identity or no field give the body as is", async () => {
      const cases = [
        [undefined, undefined],
        ["", undefined],
        ["gzip", "gzip"],
        ["x-gzip", "gzip"],
        ["zstd", "zstd"],
        ["gzip, zstd", "zstd"],
        ["gzip;q=0.8, zstd;q=0.8", "zstd"],
        ["zstd;q=0.5, gzip", "gzip"],
        ["GZIP;Q=1", "gzip"],
        ["gzip;q=0", undefined],
        ["identity", undefined],
        ["gzip;q=0, zstd;q=0", undefined],
        ["identity;q=1, gzip;q=0.5", undefined],
        ["br, deflate", undefined],
        ["*", "zstd"],
        ["*;q=0.5, zstd;q=0", "gzip"],
        ["gzip;q=2, zstd;level=3", undefined],
      ];
      const identity = await call(page100());
      for (const [ae, expected] of cases) {
        const res = await call(page100(ae));
        expectStatus(res, 200);
        assert.equal(header(res, "Content-Encoding"), expected, `Accept-Encoding: ${JSON.stringify(ae)}`);
        assert.equal(header(res, "Vary"), "Accept-Encoding");
        assertSameAnswer(res, identity);
      }
    });

    it("a body under 1024 bytes, a 304 and an error go as is whatever the client accepts", async () => {
      const ae = { "Accept-Encoding": "zstd, gzip" };
      const small = await call({ json: { schedule_id: fx.running }, token: key, headers: ae });
      expectStatus(small, 200);
      assert.ok(small.bytes.length < 1024, `${small.bytes.length} bytes`);
      assert.equal(header(small, "Content-Encoding"), undefined);
      assert.equal(header(small, "Vary"), "Accept-Encoding");
      const full = await call(page10k({ headers: ae }));
      const notModified = await call(page10k({ headers: { ...ae, "If-None-Match": header(full, "ETag") } }));
      expectStatus(notModified, 304);
      assert.equal(header(notModified, "Content-Encoding"), undefined);
      assert.equal(header(notModified, "Vary"), "Accept-Encoding");
      assert.equal(notModified.bytes.length, 0);
      const missing = await call({ json: { schedule_id: newScheduleId("none") }, token: key, headers: ae });
      expectStatus(missing, 404);
      assert.equal(header(missing, "Content-Encoding"), undefined);
      const bad = await call({ rawJson: "{not json", token: key, headers: ae });
      expectStatus(bad, 400);
      assert.equal(header(bad, "Content-Encoding"), undefined);
    });

    it("a cached page is compressed once per coding: serving it again does not compress again", async () => {
      // A page no other test asks for, read once so that it is cached.
      const target = { json: { schedule_id: fx.big, offset_start: 3, offset_end: 9002 }, token: key };
      const identity = await call(target);
      expectStatus(identity, 200);
      const before = (await admin(main, "/metrics")).body;
      const answers = [];
      for (let i = 0; i < 4; i++) answers.push(await call({ ...target, headers: { "Accept-Encoding": "gzip" } }));
      for (let i = 0; i < 3; i++) answers.push(await call({ ...target, headers: { "Accept-Encoding": "zstd" } }));
      const after = (await admin(main, "/metrics")).body;
      const compressions = (coding) =>
        metric(after, "querystatus_response_compressions_total", coding) - metric(before, "querystatus_response_compressions_total", coding);
      assert.equal(compressions("gzip"), 1, "gzip compressions for 4 answers of one cached page");
      assert.equal(compressions("zstd"), 1, "zstd compressions for 3 answers of one cached page");
      // Each answer is still its own, and the bytes are counted as sent.
      const ids = new Set();
      let gzipSent = 0;
      let gzipIdentity = 0;
      for (const res of answers) {
        assertSameAnswer(res, identity);
        ids.add(res.json.meta.request_id);
        if (header(res, "Content-Encoding") === "gzip") {
          gzipSent += res.bytes.length;
          gzipIdentity += Buffer.byteLength(res.body);
        }
      }
      assert.equal(ids.size, answers.length, "every answer has its own request_id");
      const delta = (name) => metric(after, name, "gzip") - metric(before, name, "gzip");
      assert.equal(delta("querystatus_response_body_bytes_total"), gzipSent);
      assert.equal(delta("querystatus_response_body_identity_bytes_total"), gzipIdentity);
    });
  });

  describe("rate limits", () => {
    it("X-RateLimit-Remaining decreases by one per request of a key", async () => {
      const key = createKey(env, { license: fx.licA });
      await awayFromWindowEdge();
      const seen = [];
      for (let i = 0; i < 4; i++) {
        const res = await call({ json: { schedule_id: fx.running }, token: key });
        expectStatus(res, 200);
        assert.equal(intHeader(res, "X-RateLimit-Limit"), MAIN_DEFAULT_LIMIT);
        seen.push(intHeader(res, "X-RateLimit-Remaining"));
      }
      assert.deepEqual(seen, [MAIN_DEFAULT_LIMIT - 1, MAIN_DEFAULT_LIMIT - 2, MAIN_DEFAULT_LIMIT - 3, MAIN_DEFAULT_LIMIT - 4]);
    });

    it("a key with --rate-limit 3: 3 requests pass, the 4th is 429 with Retry-After and remaining 0", async () => {
      const key = createKey(env, { license: fx.licA, rateLimit: 3 });
      await awayFromWindowEdge();
      for (let i = 0; i < 3; i++) {
        const res = await call({ json: { schedule_id: fx.running }, token: key });
        expectStatus(res, 200);
        assert.equal(intHeader(res, "X-RateLimit-Limit"), 3);
        assert.equal(intHeader(res, "X-RateLimit-Remaining"), 2 - i);
      }
      for (let i = 0; i < 2; i++) {
        const res = await call({ json: { schedule_id: fx.running }, token: key });
        expectStatus(res, 429);
        assert.equal(res.json.status, 429);
        assert.equal(intHeader(res, "X-RateLimit-Limit"), 3);
        assert.equal(intHeader(res, "X-RateLimit-Remaining"), 0, "never below 0");
        const retry = intHeader(res, "Retry-After");
        assert.ok(retry >= 1 && retry <= 3600, `Retry-After ${retry}`);
        assert.ok(Math.abs(retry - secondsToWindowEnd()) <= 2, `Retry-After ${retry} = seconds to the window's end (${secondsToWindowEnd()})`);
        const { r, t } = parseRateLimit(res);
        assert.equal(r, 0);
        assert.ok(Math.abs(t - retry) <= 1, `RateLimit t=${t} vs Retry-After ${retry}`);
      }
    });

    it("every authenticated request counts against the key, 404 included", async () => {
      const key = createKey(env, { license: fx.licA, rateLimit: 2 });
      await awayFromWindowEdge();
      expectStatus(await call({ json: { schedule_id: newScheduleId("none") }, token: key }), 404);
      expectStatus(await call({ json: { schedule_id: fx.running }, token: key }), 200);
      expectStatus(await call({ json: { schedule_id: fx.running }, token: key }), 429);
      expectStatus(await call({ json: { schedule_id: newScheduleId("none") }, token: key }), 429);
    });

    it("the key's limit beats the license's, which beats the configured default", async () => {
      const lic = createLicense(env, { name: `contract limited ${RUN_ID}`, rateLimit: 7 });
      const own = createKey(env, { license: lic, rateLimit: 4 });
      const inherited = createKey(env, { license: lic });
      const ownOnDefaultLicense = createKey(env, { license: fx.licA, rateLimit: 9 });
      const q = newScheduleId("limits");
      putQuery(env, { license: lic, scheduleId: q, status: "RUNNING", ready: 0, total: 1 });
      await awayFromWindowEdge();
      const r1 = await call({ json: { schedule_id: q }, token: own });
      const r2 = await call({ json: { schedule_id: q }, token: inherited });
      const r3 = await call({ json: { schedule_id: fx.running }, token: ownOnDefaultLicense });
      const r4 = await call({ json: { schedule_id: fx.running }, token: fx.keyA2 });
      assert.equal(intHeader(r1, "X-RateLimit-Limit"), 4, "key's own limit");
      assert.equal(intHeader(r2, "X-RateLimit-Limit"), 7, "license's limit");
      assert.equal(intHeader(r3, "X-RateLimit-Limit"), 9, "key's own limit on a license without one");
      assert.equal(intHeader(r4, "X-RateLimit-Limit"), MAIN_DEFAULT_LIMIT, "the configured default (--rate-limit)");
      assert.equal(parseRateLimit(r1).q, 4);
    });

    it("keys are counted separately: one key's 429 does not limit another key", async () => {
      const k1 = createKey(env, { license: fx.licA, rateLimit: 1 });
      const k2 = createKey(env, { license: fx.licA, rateLimit: 1 });
      await awayFromWindowEdge();
      expectStatus(await call({ json: { schedule_id: fx.running }, token: k1 }), 200);
      expectStatus(await call({ json: { schedule_id: fx.running }, token: k1 }), 429);
      expectStatus(await call({ json: { schedule_id: fx.running }, token: k2 }), 200);
    });

    it("401s are counted per client address (--unauth-rate-limit), then 429; other addresses and valid keys are unaffected", async () => {
      await awayFromWindowEdge();
      const addr = freshAddress();
      for (let i = 0; i < MAIN_UNAUTH_LIMIT; i++) {
        const res = await call({ json: { schedule_id: fx.running }, token: randomToken(), xff: addr });
        expectStatus(res, 401);
        assert.equal(intHeader(res, "X-RateLimit-Limit"), MAIN_UNAUTH_LIMIT);
        assert.equal(intHeader(res, "X-RateLimit-Remaining"), MAIN_UNAUTH_LIMIT - 1 - i);
      }
      const limited = await call({ json: { schedule_id: fx.running }, token: randomToken(), xff: addr });
      expectStatus(limited, 429);
      assert.equal(intHeader(limited, "X-RateLimit-Limit"), MAIN_UNAUTH_LIMIT);
      assert.equal(intHeader(limited, "X-RateLimit-Remaining"), 0);
      const retry = intHeader(limited, "Retry-After");
      assert.ok(retry >= 1 && retry <= 3600);
      expectStatus(await call({ json: { schedule_id: fx.running }, xff: addr }), 429);
      expectStatus(await call({ target: "/query/status?json=%7B", xff: addr }), 429);
      expectStatus(await call({ json: { schedule_id: fx.running }, token: randomToken() }), 401);
      expectStatus(await call({ json: { schedule_id: fx.running }, token: fx.keyA, xff: addr }), 200);
    });

    it("400s count against the client address too", async () => {
      await awayFromWindowEdge();
      const addr = freshAddress();
      for (let i = 0; i < 3; i++) expectStatus(await call({ target: "/query/status?json=nope", xff: addr }), 400);
      for (let i = 0; i < MAIN_UNAUTH_LIMIT - 3; i++) expectStatus(await call({ json: { schedule_id: "abc" }, xff: addr }), 401);
      const res = await call({ json: { schedule_id: "abc", offset_start: 2, offset_end: 1 }, xff: addr });
      expectStatus(res, 429);
    });

    it("the client is the right-most X-Forwarded-For address not in --trusted-proxies", async () => {
      await awayFromWindowEdge();
      const real = freshAddress();
      for (let i = 0; i < MAIN_UNAUTH_LIMIT; i++) {
        const spoofed = `${freshAddress()}, ${real}`;
        expectStatus(await call({ json: { schedule_id: fx.running }, xff: spoofed }), 401);
      }
      expectStatus(await call({ json: { schedule_id: fx.running }, xff: `198.51.100.${1 + (Date.now() % 250)}, ${real}` }), 429);
      // A trusted proxy at the right end is skipped.
      expectStatus(await call({ json: { schedule_id: fx.running }, xff: `${real}, 127.0.0.1` }), 429);
    });
  });

  // ======================================= instance with --public-base-url
  describe("second instance: --public-base-url, untrusted X-Forwarded-For, shared counting", () => {
    let base;
    before(async () => {
      base = await start("base", {
        args: ["--public-base-url", BASE_URL, "--unauth-rate-limit", "3", "--rate-limit", "5000", "--max-wait-seconds", "2"],
        trustedProxies: null,
      });
    });
    after(async () => {
      if (base) await base.stop();
    });

    it("paginate links are absolute when --public-base-url is given", async () => {
      const res = await call({ srv: base, json: { schedule_id: fx.s250, offset_start: 100, offset_end: 199 }, token: fx.keyA });
      expectStatus(res, 200);
      assert.deepEqual(res.json.meta.paginate, { prev: link(fx.s250, 0, 99, BASE_URL), next: link(fx.s250, 200, 299, BASE_URL) });
    });

    it("paginate links never contain the api_key", async () => {
      for (const srv of [main, base]) {
        const res = await call({ srv, json: { schedule_id: fx.s250, api_key: fx.keyA, offset_start: 100, offset_end: 199 } });
        expectStatus(res, 200);
        for (const l of [res.json.meta.paginate.prev, res.json.meta.paginate.next]) {
          assert.ok(!l.includes(fx.keyA));
          const decoded = JSON.parse(decodeURIComponent(l.split("?json=")[1]));
          assert.deepEqual(Object.keys(decoded), ["schedule_id", "offset_start", "offset_end"]);
        }
      }
    });

    it("the same state has the same ETag on every instance, and each answers the other's tag with 304", async () => {
      const a = await call({ json: { schedule_id: fx.running }, token: fx.keyA });
      const b = await call({ srv: base, json: { schedule_id: fx.running }, token: fx.keyA });
      expectStatus(a, 200);
      expectStatus(b, 200);
      assert.equal(header(a, "ETag"), header(b, "ETag"));
      expectStatus(await call({ srv: base, json: { schedule_id: fx.running }, token: fx.keyA, headers: { "If-None-Match": header(a, "ETag") } }), 304);
      expectStatus(await call({ json: { schedule_id: fx.running }, token: fx.keyA, headers: { "If-None-Match": header(b, "ETag") } }), 304);
    });

    it("a wait longer than --max-wait-seconds is clamped to it, and Preference-Applied says so", async () => {
      const full = await call({ srv: base, json: { schedule_id: fx.running }, token: fx.keyA });
      const t0 = Date.now();
      const res = await call({ srv: base, json: { schedule_id: fx.running }, token: fx.keyA, headers: { "If-None-Match": header(full, "ETag"), Prefer: "wait=100000" }, timeoutMs: 10000 });
      expectStatus(res, 304);
      assert.equal(header(res, "Preference-Applied"), "wait=2");
      const took = Date.now() - t0;
      assert.ok(took >= 1900 && took < 4000, `held ${took} ms`);
    });

    it("a change while a request is held on each of two instances answers both within one second", async () => {
      const id = newScheduleId("twoheld");
      putQuery(env, { license: fx.licA, scheduleId: id, status: "RUNNING", ready: 1, total: 2 });
      const a = await call({ json: { schedule_id: id }, token: fx.keyA });
      const b = await call({ srv: base, json: { schedule_id: id }, token: fx.keyA });
      assert.equal(header(a, "ETag"), header(b, "ETag"));
      const wait = { "If-None-Match": header(a, "ETag"), Prefer: "wait=30" };
      // base allows 2 s at most: the change comes well within it.
      const onMain = call({ json: { schedule_id: id }, token: fx.keyA, headers: wait, timeoutMs: 40000 });
      const onBase = call({ srv: base, json: { schedule_id: id }, token: fx.keyA, headers: wait, timeoutMs: 40000 });
      await sleep(300);
      putQuery(env, { license: fx.licA, scheduleId: id, status: "SUCCESS", ready: 2, total: 2, finishedAgo: 0 });
      const committed = Date.now();
      const [ra, rb] = await Promise.all([onMain, onBase]);
      const took = Date.now() - committed;
      expectStatus(ra, 200);
      expectStatus(rb, 200);
      assert.ok(took < 1000, `answered ${took} ms after the commit`);
      assert.equal(ra.json.meta.status_code, "SUCCESS");
      assert.equal(rb.json.meta.status_code, "SUCCESS");
      assert.equal(header(ra, "Preference-Applied"), "wait=30");
      assert.equal(header(rb, "Preference-Applied"), "wait=2");
      assert.equal(header(ra, "ETag"), header(rb, "ETag"));
    });

    it("X-Forwarded-For from a peer that is not a trusted proxy is ignored", async () => {
      await awayFromWindowEdge();
      for (let i = 0; i < 3; i++) {
        expectStatus(await call({ srv: base, json: { schedule_id: fx.running }, xff: freshAddress() }), 401);
      }
      expectStatus(await call({ srv: base, json: { schedule_id: fx.running }, xff: freshAddress() }), 429);
    });

    it("instances share the count: exactly `limit` requests of a window succeed across two instances", { timeout: 60000 }, async () => {
      const limit = 20;
      const key = createKey(env, { license: fx.licA, rateLimit: limit });
      await awayFromWindowEdge();
      const results = await Promise.all(
        Array.from({ length: 2 * limit }, (_, i) => call({ srv: i % 2 ? base : main, json: { schedule_id: fx.running }, token: key })),
      );
      const ok = results.filter((r) => r.status === 200).length;
      const limited = results.filter((r) => r.status === 429).length;
      assert.equal(ok, limit, `200s: ${ok}, 429s: ${limited}`);
      assert.equal(limited, limit);
      const remaining = results.filter((r) => r.status === 200).map((r) => intHeader(r, "X-RateLimit-Remaining")).sort((a, b) => a - b);
      assert.deepEqual(remaining, Array.from({ length: limit }, (_, i) => i), "each allowed request saw a distinct count");
    });
  });

  // ================================================== Redis failure modes
  describe("Redis down", () => {
    let open;
    let closed;
    before(async () => {
      const dead = `redis://127.0.0.1:${await freePort()}/3`;
      open = await start("redis-down-open", { redisUrl: dead, waitFor: "/healthz", args: ["--redis-timeout-ms", "200"] });
      closed = await start("redis-down-closed", {
        redisUrl: dead,
        waitFor: "/healthz",
        args: ["--redis-timeout-ms", "200", "--rate-limit-failure-mode", "closed"],
      });
    });
    after(async () => {
      for (const s of [open, closed]) if (s) await s.stop();
    });

    it("fail-open (default): requests are served, limited per instance, counted in a metric; /readyz stays 200", async () => {
      const key = createKey(env, { license: fx.licA, rateLimit: 2 });
      await awayFromWindowEdge();
      const r1 = await call({ srv: open, json: { schedule_id: fx.running }, token: key });
      expectStatus(r1, 200);
      assert.equal(intHeader(r1, "X-RateLimit-Limit"), 2);
      expectStatus(await call({ srv: open, json: { schedule_id: fx.running }, token: key }), 200);
      const r3 = await call({ srv: open, json: { schedule_id: fx.running }, token: key });
      expectStatus(r3, 429);
      assert.equal(intHeader(r3, "X-RateLimit-Remaining"), 0);
      const ready = await readyzUntil(open, (r) => r.json && r.json.redis === "unavailable");
      expectStatus(ready, 200);
      assert.equal(ready.json.redis, "unavailable", "a Redis outage shows in the /readyz body");
      const metrics = (await admin(open, "/metrics")).body;
      // Every series of the family exists from start-up (at 0): add them up.
      const failOpen = [...metrics.matchAll(/^querystatus_ratelimit_decisions_total\{[^}]*decision="fail_open"[^}]*\} ([0-9.e+]+)$/gm)]
        .reduce((sum, m) => sum + Number(m[1]), 0);
      assert.ok(failOpen >= 3, `fail_open decisions counted in /metrics:\n${metrics.split("\n").filter((l) => l.includes("ratelimit")).join("\n")}`);
      assert.match(open.log(), /fail.?open/i, `a log line says the limiter failed open (${open.logPath})`);
    });

    it("fail-closed: 500 problem details without internals; /readyz is 503", async () => {
      const res = await call({ srv: closed, json: { schedule_id: fx.running }, token: fx.keyA });
      expectStatus(res, 500);
      assert.equal(res.json.status, 500);
      assert.doesNotMatch(problemText(res), /redis|127\.0\.0\.1|hiredis|connect|refused|errno/i, "no internals in a 500");
      const ready = await readyzUntil(closed, (r) => r.status === 503);
      expectStatus(ready, 503);
      assert.equal(ready.json.redis, "unavailable");
    });
  });

// /readyz reports a background check's result, at most about a second old:
  // poll it until `ok(response)` holds (or the time is up) and return the last.
  async function readyzUntil(srv, ok, timeoutMs = 3000) {
    const deadline = Date.now() + timeoutMs;
    let res;
    do {
      res = await admin(srv, "/readyz");
      if (ok(res)) return res;
      await sleep(100);
    } while (Date.now() < deadline);
    return res;
  }
  
  // ============================================== PostgreSQL failures
  describe("PostgreSQL down or hung", () => {
    let proxy;
    let srv;
    let skipReason = null;
    before(async () => {
      const url = new URL(env.databaseUrl);
      if (!url.hostname) {
        skipReason = "QS_TEST_DATABASE_URL has no TCP host; cannot proxy it";
        return;
      }
      proxy = await startTcpProxy(url.hostname, Number(url.port || 5432));
      url.hostname = "127.0.0.1";
      url.port = String(proxy.port);
      srv = await start("db-proxy", { databaseUrl: url.toString(), args: ["--database-timeout-ms", "500"] });
    });
    after(async () => {
      if (srv) await srv.stop();
      if (proxy) await proxy.close();
    });

    async function until200(timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      let res;
      do {
        res = await call({ srv, json: { schedule_id: fx.running }, token: fx.keyA });
        if (res.status === 200) return res;
        await sleep(200);
      } while (Date.now() < deadline);
      return res;
    }

    it("a database that refuses connections: 500 problem details, /readyz 503, then recovery", { timeout: 60000 }, async (t) => {
      if (skipReason) return t.skip(skipReason);
      expectStatus(await call({ srv, json: { schedule_id: fx.running }, token: fx.keyA }), 200);
      await proxy.cut();
      try {
        const startedAt = Date.now();
        const res = await call({ srv, json: { schedule_id: fx.running }, token: fx.keyA, timeoutMs: 15000 });
        expectStatus(res, 500);
        assert.doesNotMatch(problemText(res), /postgres|pq|sql|127\.0\.0\.1|connection|refused/i, "no internals in a 500");
        assert.ok(Date.now() - startedAt < 6000, `answered in ${Date.now() - startedAt} ms`);
        const ready = await readyzUntil(srv, (r) => r.status === 503);
        expectStatus(ready, 503);
        assert.equal(ready.json.postgres, "unavailable");
      } finally {
        await proxy.heal();
      }
      expectStatus(await until200(15000), 200);
      expectStatus(await readyzUntil(srv, (r) => r.status === 200), 200);
    });

    it("a database that does not answer: 500 within a bounded time, /readyz 503, then recovery", { timeout: 60000 }, async (t) => {
      if (skipReason) return t.skip(skipReason);
      expectStatus(await until200(15000), 200);
      proxy.freeze();
      try {
        const startedAt = Date.now();
        const res = await call({ srv, json: { schedule_id: newScheduleId("frozen") }, token: fx.keyA, timeoutMs: 15000 });
        const took = Date.now() - startedAt;
        expectStatus(res, 500);
        assert.ok(took < 8000, `answered in ${took} ms with --database-timeout-ms 500`);
        expectStatus(await readyzUntil(srv, (r) => r.status === 503), 503);
      } finally {
        await proxy.heal();
      }
      expectStatus(await until200(20000), 200);
    });
  });

  // ================================================= operator interface
  describe("operator interface", () => {
    it("migrate is idempotent", () => {
      const r = runCli(env, ["migrate", "--database-url", env.databaseUrl]);
      assert.equal(r.code, 0, r.stderr);
    });

    it("commands exit non-zero with a message on stderr when they fail", () => {
      for (const args of [
        ["key", "create", "--license", "999999999"],
        ["query", "put", "--license", fx.licA, "--schedule-id", newScheduleId("bad"), "--status", "DONE"],
        ["query", "put", "--license", fx.licA, "--schedule-id", "bad id", "--status", "RUNNING"],
        ["license", "create"],
        ["no-such-command"],
      ]) {
        const r = runCli(env, args);
        assert.notEqual(r.code, 0, `querystatus ${args.join(" ")} should fail; stdout ${r.stdout}`);
        assert.ok(r.stderr.trim().length > 0, `querystatus ${args.join(" ")}: no message on stderr`);
      }
    });

    it("license create, key create and rows load print their result alone on a line; query put and queue set print nothing", () => {
      const id = cli(env, ["license", "create", "--name", `contract cli ${RUN_ID}`]);
      assert.match(id, /^[0-9]+\n?$/);
      const lic = id.trim();
      const token = cli(env, ["key", "create", "--license", lic]);
      assert.match(token, /^[A-Za-z0-9_-]{1,255}\n?$/);
      registerSecret(token.trim());
      const q = newScheduleId("cli");
      assert.equal(cli(env, ["query", "put", "--license", lic, "--schedule-id", q, "--status", "SUCCESS", "--ready", "1", "--total", "1"]).trim(), "");
      assert.equal(cli(env, ["rows", "load", "--schedule-id", q], { input: '{"a":1}\n{"a":2}\n{"a":3}\n' }).trim(), "3");
      assert.equal(cli(env, ["queue", "set", "--license", lic, "--scheduled", "2", "--running", "1"]).trim(), "");
    });

    it("demo seeds a license, key and queries and prints a curl command that works", async () => {
      const out = cli(env, ["demo"]);
      const auth = /Authorization: Bearer ([A-Za-z0-9_-]+)/.exec(out);
      const url = /'(https?:\/\/[^']+)'|"(https?:\/\/[^"]+)"|(https?:\/\/\S+)/.exec(out);
      assert.match(out, /curl /, out);
      assert.ok(auth && url, `no Bearer token or URL in: ${out}`);
      registerSecret(auth[1]);
      const target = new URL(url[1] || url[2] || url[3]);
      const res = await call({ target: target.pathname + target.search, token: auth[1] });
      expectStatus(res, 200);
    });

    it("keys are stored only as their SHA-256", () => {
      const token = createKey(env, { license: fx.licA });
      const hash = sha256Hex(token);
      assert.equal(psql(env, `SELECT count(*) FROM api_keys WHERE token_sha256 = '${hash}'`), "1");
      assert.equal(psql(env, `SELECT count(*) FROM api_keys k WHERE row_to_json(k)::text LIKE '%${token}%'`), "0");
    });

    it("/healthz is 200, /metrics exposes querystatus_ metrics", async () => {
      expectStatus(await admin(main, "/healthz"), 200);
      const m = await admin(main, "/metrics");
      expectStatus(m, 200);
      assert.match(m.body, /^querystatus_http_requests_total\{/m);
    });

    it("SIGTERM: /readyz fails while draining, requests are still served, then exit 0", { timeout: 60000 }, async () => {
      const srv = await start("sigterm", { args: ["--drain-delay-seconds", "2"] });
      expectStatus(await call({ srv, json: { schedule_id: fx.running }, token: fx.keyA }), 200);
      srv.proc.kill("SIGTERM");
      const deadline = Date.now() + 1500;
      let ready;
      do {
        ready = await admin(srv, "/readyz");
      } while (ready.status === 200 && Date.now() < deadline);
      expectStatus(ready, 503);
      expectStatus(await call({ srv, json: { schedule_id: fx.running }, token: fx.keyA }), 200);
      const exit = await Promise.race([srv.exited, sleep(20000).then(() => null)]);
      assert.ok(exit, "exited within 20 s of SIGTERM");
      assert.equal(exit.code, 0, `exit ${JSON.stringify(exit)}`);
    });

    it("keys never appear in any log", () => {
      const leaks = [];
      for (const s of servers) {
        const log = s.log();
        for (const secret of allSecrets()) if (log.includes(secret)) leaks.push(`${s.name}: ${secret.slice(0, 8)}...`);
      }
      assert.deepEqual(leaks, [], `logs in ${logDirectory()}`);
    });
  });
});
