// Checks that openapi.yaml itself encodes the contract tightly: hand-made
// responses that break a rule must FAIL validation, so that check() in the
// service tests catches the same breakage. Needs no service.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { schemaValidator, validatorAt, spec, check, registerSecret } from "./lib/spec.mjs";

const statusResponse = schemaValidator("StatusResponse");
const problem = schemaValidator("Problem");
const notFound = schemaValidator("NotFound");
const statusRequest = schemaValidator("StatusRequest");

function running(extraMeta = {}, data = []) {
  return {
    meta: {
      request_id: "3kPq0e6bLrV1yq9XwS2m1A",
      schedule_id: "abc123",
      status_code: "RUNNING",
      progress: { queries_ready: 0, queries_total: 1 },
      workflow: { tasks_scheduled: 0, tasks_running: 1 },
      ...extraMeta,
    },
    data,
  };
}

function success(extraMeta = {}, data = [{ date: "2026-11-01", clicks: 12 }]) {
  return running(
    {
      status_code: "SUCCESS",
      result: { total_rows: 250 },
      paginate: {
        prev: null,
        next: "/query/status?json=%7B%22schedule_id%22%3A%22abc123%22%2C%22offset_start%22%3A100%2C%22offset_end%22%3A199%7D",
      },
      ...extraMeta,
    },
    data,
  );
}

function without(obj, key) {
  const copy = structuredClone(obj);
  delete copy.meta[key];
  return copy;
}

const ok = (v, x) => assert.ok(v(x), JSON.stringify(v.errors));
const bad = (v, x) => assert.equal(v(x), false, `should be invalid: ${JSON.stringify(x)}`);

describe("openapi.yaml: 200 body (StatusResponse)", () => {
  it("accepts the contract's RUNNING and SUCCESS examples", () => {
    ok(statusResponse, running());
    ok(statusResponse, success());
    for (const ex of Object.values(spec.components.responses.Status.content["application/json"].examples)) {
      ok(statusResponse, ex.value);
    }
  });
  it("rejects a SUCCESS without paginate", () => bad(statusResponse, without(success(), "paginate")));
  it("rejects a SUCCESS without result", () => bad(statusResponse, without(success(), "result")));
  it("rejects a RUNNING with paginate", () =>
    bad(statusResponse, running({ paginate: { prev: null, next: null } })));
  it("rejects a RUNNING with result", () => bad(statusResponse, running({ result: { total_rows: 0 } })));
  it("rejects a null paginate (left out, not null)", () => {
    bad(statusResponse, running({ paginate: null }));
    bad(statusResponse, success({ paginate: null }));
  });
  it("rejects rows in data unless SUCCESS", () => {
    for (const code of ["SCHEDULED", "QUEUED", "RUNNING", "FAILURE", "STOPPED"]) {
      ok(statusResponse, running({ status_code: code }));
      bad(statusResponse, running({ status_code: code }, [{ a: 1 }]));
    }
  });
  it("rejects an unknown status code", () => bad(statusResponse, running({ status_code: "DONE" })));
  it("rejects unknown members at every level", () => {
    bad(statusResponse, { ...running(), extra: 1 });
    bad(statusResponse, running({ extra: 1 }));
    bad(statusResponse, running({ progress: { queries_ready: 0, queries_total: 1, x: 1 } }));
    bad(statusResponse, running({ workflow: { tasks_scheduled: 0, tasks_running: 1, x: 1 } }));
    bad(statusResponse, success({ result: { total_rows: 1, x: 1 } }));
    bad(statusResponse, success({ paginate: { prev: null, next: null, x: null } }));
  });
  it("rejects missing meta members", () => {
    for (const k of ["request_id", "schedule_id", "status_code", "progress", "workflow"]) {
      bad(statusResponse, without(running(), k));
    }
  });
  it("enforces the API reference's ranges", () => {
    bad(statusResponse, running({ progress: { queries_ready: 10001, queries_total: 1 } }));
    bad(statusResponse, running({ progress: { queries_ready: -1, queries_total: 1 } }));
    bad(statusResponse, running({ workflow: { tasks_scheduled: 1001, tasks_running: 0 } }));
    bad(statusResponse, running({ workflow: { tasks_scheduled: 0, tasks_running: 1001 } }));
    bad(statusResponse, running({ request_id: "a".repeat(51) }));
    bad(statusResponse, running({ request_id: "a.b" }));
    bad(statusResponse, running({ schedule_id: "a b" }));
  });
  it("caps data at 10000 objects", () => {
    ok(statusResponse, success({}, Array.from({ length: 10000 }, () => ({}))));
    bad(statusResponse, success({}, Array.from({ length: 10001 }, () => ({}))));
    bad(statusResponse, success({}, [1]));
    bad(statusResponse, success({}, [null]));
  });
  it("accepts path-absolute and absolute links, not others", () => {
    const link = (next) => success({ paginate: { prev: null, next } });
    ok(statusResponse, link("https://api.example.test/query/status?json=%7B%7D"));
    bad(statusResponse, link("query/status?json=%7B%7D"));
    bad(statusResponse, link("/query/status?json={}"));
    bad(statusResponse, link("/other?json=%7B%7D"));
  });
});

describe("openapi.yaml: error bodies", () => {
  it("Problem accepts a contract-conforming problem", () =>
    ok(problem, { type: "about:blank", title: "Bad Request", status: 400, detail: "offset end must be an integer" }));
  it("Problem title and detail patterns forbid underscores, quotes, colons", () => {
    bad(problem, { type: "about:blank", title: "Bad_Request", status: 400, detail: "x" });
    bad(problem, { type: "about:blank", title: "Bad Request", status: 400, detail: "offset_end" });
    bad(problem, { type: "about:blank", title: "Bad Request", status: 400, detail: "bad: x" });
    bad(problem, { type: "about:blank", title: "Bad Request", status: 400, detail: '"x"' });
    bad(problem, { type: "about:blank", title: "Bad Request", status: 400, detail: "x".repeat(1001) });
  });
  it("Problem rejects unknown members and long type", () => {
    bad(problem, { type: "about:blank", title: "T", status: 400, detail: "d", stack: "x" });
    bad(problem, { type: "https://x.test/" + "a".repeat(255), title: "T", status: 400, detail: "d" });
  });
  it("NotFound is exactly {error: STATUS_NOT_FOUND}", () => {
    ok(notFound, { error: "STATUS_NOT_FOUND" });
    bad(notFound, { error: "NOT_FOUND" });
    bad(notFound, { error: "STATUS_NOT_FOUND", detail: "x" });
    bad(notFound, {});
  });
});

describe("openapi.yaml: request and headers", () => {
  it("StatusRequest: schedule_id required, unknown keys and out-of-range values rejected", () => {
    ok(statusRequest, { schedule_id: "abc123", offset_start: 0, offset_end: 99 });
    bad(statusRequest, {});
    bad(statusRequest, { schedule_id: "abc123", extra: 1 });
    bad(statusRequest, { schedule_id: "" });
    bad(statusRequest, { schedule_id: "a".repeat(51) });
    bad(statusRequest, { schedule_id: "abc", offset_start: 1000001 });
    bad(statusRequest, { schedule_id: "abc", offset_end: -1 });
    bad(statusRequest, { schedule_id: "abc", offset_end: "5" });
    bad(statusRequest, { schedule_id: "abc", api_key: "a".repeat(256) });
  });
  const h = (name) => validatorAt(`/components/headers/${name}/schema`);
  it("header schemas carry the API reference's ranges and patterns", () => {
    assert.equal(h("XRateLimitLimit")(0), false);
    assert.equal(h("XRateLimitLimit")(10001), false);
    assert.equal(h("XRateLimitRemaining")(-1), false);
    assert.equal(h("RetryAfter")(0), false);
    assert.equal(h("RetryAfter")(86401), false);
    assert.equal(h("WWWAuthenticate")("Basic realm=x"), false);
    assert.equal(h("AccessControlAllowOrigin")("https://a.test"), false);
    assert.equal(h("XRequestId")("a/b"), false);
    assert.equal(h("CacheControl")("no-cache"), false);
    assert.equal(h("CacheControl")("no-store"), true);
    assert.equal(h("RateLimitPolicy")('"hourly";q=5000;w=3600'), true);
    assert.equal(h("RateLimitPolicy")("hourly;q=5000;w=3600"), false);
    assert.equal(h("RateLimit")('"hourly";r=0;t=3600'), true);
    assert.equal(h("RateLimit")('"hourly";r=-1;t=3600'), false);
    assert.equal(h("Allow")("GET, OPTIONS"), true);
    assert.equal(h("Allow")("GET, POST"), false);
  });
  it("every status of GET /query/status declares the headers the contract names", () => {
    const responses = spec.paths["/query/status"].get.responses;
    const headersOf = (code) => {
      let r = responses[code];
      if (r.$ref) r = spec.components.responses[r.$ref.split("/").pop()];
      return Object.keys(r.headers || {});
    };
    const every = ["Access-Control-Allow-Origin", "X-Request-Id", "Cache-Control", "Access-Control-Expose-Headers"];
    const rl = ["X-RateLimit-Limit", "X-RateLimit-Remaining", "RateLimit-Policy", "RateLimit"];
    for (const code of ["200", "400", "401", "404", "429"]) {
      for (const name of [...every, ...rl]) assert.ok(headersOf(code).includes(name), `${code} lacks ${name}`);
    }
    for (const name of every) assert.ok(headersOf("500").includes(name), `500 lacks ${name}`);
    assert.ok(headersOf("429").includes("Retry-After"));
    assert.ok(headersOf("401").includes("WWW-Authenticate"));
  });
});

// check() itself: the gate every service response goes through must reject
// what the contract forbids.
function fakeResponse(status, headers, body, { method = "GET", path = "/query/status?json=%7B%7D" } = {}) {
  const rawHeaders = [];
  for (const [k, v] of headers) rawHeaders.push(k, v);
  const lower = {};
  for (const [k, v] of headers) lower[k.toLowerCase()] = v;
  return { method, path, server: "public", requestHeaders: {}, status, headers: lower, rawHeaders, body: typeof body === "string" ? body : JSON.stringify(body) };
}

const everyHeaders = [
  ["Access-Control-Allow-Origin", "*"],
  ["Access-Control-Expose-Headers", "X-RateLimit-Limit, X-RateLimit-Remaining, RateLimit-Policy, RateLimit, Retry-After, X-Request-Id"],
  ["X-Request-Id", "abc123"],
  ["Cache-Control", "no-store"],
];
const rateHeaders = [
  ["X-RateLimit-Limit", "5000"],
  ["X-RateLimit-Remaining", "4999"],
  ["RateLimit-Policy", '"hourly";q=5000;w=3600'],
  ["RateLimit", '"hourly";r=4999;t=100'],
];
const representationHeaders = [
  ["ETag", 'W/"q3Zk4mD0oQe0w5d1m8yP2TnUcYb9aH7x"'],
  ["Vary", "Accept-Encoding"],
];
const good200 = () => fakeResponse(200, [["Content-Type", "application/json"], ...representationHeaders, ...everyHeaders, ...rateHeaders], running({ request_id: "abc123" }));

describe("check(): the response gate", () => {
  it("accepts a conforming 200", () => {
    assert.ok(check(good200()));
  });
  it("rejects a response missing a required header", () => {
    for (const name of ["X-Request-Id", "Access-Control-Allow-Origin", "Cache-Control", "X-RateLimit-Limit", "RateLimit", "ETag", "Vary"]) {
      const r = good200();
      const i = r.rawHeaders.indexOf(name);
      r.rawHeaders.splice(i, 2);
      assert.throws(() => check(r), new RegExp(`missing header ${name}`));
    }
  });
  it("accepts a conforming 304 and rejects a strong or over-long ETag", () => {
    const ok304 = () => fakeResponse(304, [...representationHeaders, ...everyHeaders, ...rateHeaders], "");
    assert.equal(check(ok304()), null);
    for (const bad of ['"q3Zk4mD0oQe0w5d1m8yP2TnUcYb9aH7x"', `W/"${"a".repeat(65)}"`, 'W/"a b"']) {
      const r = ok304();
      r.rawHeaders[r.rawHeaders.indexOf("ETag") + 1] = bad;
      assert.throws(() => check(r), /ETag/);
    }
  });
  it("accepts a 200 in gzip or zstd and rejects another Content-Encoding", () => {
    for (const coding of ["gzip", "zstd"]) {
      const r = good200();
      r.rawHeaders.push("Content-Encoding", coding);
      assert.ok(check(r));
    }
    for (const coding of ["br", "deflate", "identity", "gzip, zstd"]) {
      const r = good200();
      r.rawHeaders.push("Content-Encoding", coding);
      assert.throws(() => check(r), /Content-Encoding/);
    }
  });
  it("rejects a header sent twice, or out of range", () => {
    const r = good200();
    r.rawHeaders.push("Access-Control-Allow-Origin", "*");
    assert.throws(() => check(r), /sent 2 times/);
    const r2 = good200();
    r2.rawHeaders[r2.rawHeaders.indexOf("X-RateLimit-Remaining") + 1] = "-1";
    assert.throws(() => check(r2), /X-RateLimit-Remaining/);
  });
  it("rejects a 401 without WWW-Authenticate and a 429 without Retry-After", () => {
    const problemBody = { type: "/p", title: "Unauthorized", status: 401, detail: "no" };
    assert.throws(() => check(fakeResponse(401, [["Content-Type", "application/problem+json"], ...everyHeaders, ...rateHeaders], problemBody)), /missing header WWW-Authenticate/);
    assert.throws(() => check(fakeResponse(429, [["Content-Type", "application/problem+json"], ...everyHeaders, ...rateHeaders], { ...problemBody, status: 429, title: "Too Many Requests" })), /missing header Retry-After/);
  });
  it("rejects a wrong media type, a problem status that differs from the HTTP status, and undocumented statuses", () => {
    const r = good200();
    r.headers["content-type"] = "text/plain";
    assert.throws(() => check(r), /Content-Type/);
    const p = fakeResponse(400, [["Content-Type", "application/problem+json"], ...everyHeaders, ...rateHeaders], { type: "/p", title: "Bad Request", status: 401, detail: "x" });
    assert.throws(() => check(p), /differs from HTTP status/);
    assert.throws(() => check(fakeResponse(418, [], "")), /not a documented response/);
  });
  it("rejects a response that echoes a registered secret", () => {
    const secret = "qsk_thisIsASecretToken0123456789";
    registerSecret(secret);
    const r = good200();
    r.rawHeaders.push("X-Debug", secret);
    assert.throws(() => check(r), /echoes a secret/);
  });
  it("a path the spec does not describe is still held to the every-response headers", () => {
    assert.throws(() => check(fakeResponse(404, [], "", { path: "/nope" })), /missing header Access-Control-Allow-Origin/);
    assert.ok(check(fakeResponse(404, everyHeaders, "", { path: "/nope" })) === null);
  });
});
