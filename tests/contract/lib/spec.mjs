// Loads openapi/openapi.yaml and checks HTTP responses against it with ajv
// (JSON Schema 2020-12, the dialect of OpenAPI 3.1).
//
// check(res) is the one gate every response of the suite goes through: it
// finds the operation for the request's path and method, the response for the
// status, and validates every header the spec declares for that status
// (required ones must be present exactly once; present ones must match their
// schema) and the body (by its media type). It also asserts that no secret
// the suite registered (API tokens) appears anywhere in the response.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import Ajv2020 from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import YAML from "yaml";

const here = path.dirname(fileURLToPath(import.meta.url));
export const SPEC_PATH = path.resolve(here, "../../../openapi/openapi.yaml");
const SPEC_ID = "https://querystatus.test/openapi.yaml";

export const spec = YAML.parse(fs.readFileSync(SPEC_PATH, "utf8"));

export const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv);
// OpenAPI's numeric formats, which ajv-formats does not know.
ajv.addFormat("int32", {
  type: "number",
  validate: (x) => Number.isInteger(x) && x >= -(2 ** 31) && x < 2 ** 31,
});
ajv.addFormat("int64", {
  type: "number",
  validate: (x) => Number.isSafeInteger(x),
});
ajv.addSchema(spec, SPEC_ID);

function escapePointer(token) {
  return String(token).replace(/~/g, "~0").replace(/\//g, "~1");
}

function resolvePointer(pointer) {
  let node = spec;
  for (const raw of pointer.split("/").slice(1)) {
    const token = raw.replace(/~1/g, "/").replace(/~0/g, "~");
    if (node == null || !(token in node)) {
      throw new Error(`openapi.yaml has no ${pointer}`);
    }
    node = node[token];
  }
  return node;
}

// Follows OpenAPI-level $refs (responses, headers, parameters); returns the
// object and its JSON pointer in the document.
function deref(obj, pointer) {
  let guard = 0;
  while (obj && typeof obj.$ref === "string") {
    if (!obj.$ref.startsWith("#/") || ++guard > 20) {
      throw new Error(`unsupported $ref ${obj.$ref} at ${pointer}`);
    }
    pointer = obj.$ref.slice(1);
    obj = resolvePointer(pointer);
  }
  return [obj, pointer];
}

const validators = new Map();
// A compiled validator for the schema at `pointer` (its $refs resolve in the
// whole document).
export function validatorAt(pointer) {
  let v = validators.get(pointer);
  if (!v) {
    resolvePointer(pointer); // fails clearly on a bad pointer
    v = ajv.compile({ $ref: `${SPEC_ID}#${pointer}` });
    validators.set(pointer, v);
  }
  return v;
}

export function schemaValidator(name) {
  return validatorAt(`/components/schemas/${escapePointer(name)}`);
}

function formatErrors(errors) {
  return (errors || [])
    .map((e) => `${e.instancePath || "(root)"} ${e.message}${e.params ? " " + JSON.stringify(e.params) : ""}`)
    .join("; ");
}

// Secrets that must never appear in a response (API tokens the suite made
// or tried).
const secrets = new Set();
export function registerSecret(s) {
  if (s && s.length >= 8) secrets.add(s);
}
export function allSecrets() {
  return [...secrets];
}

// Headers the contract requires on EVERY response of the public listener
// ("Headers on every response"), used for paths the spec does not describe.
const EVERY_RESPONSE_HEADERS = {
  "Access-Control-Allow-Origin": "AccessControlAllowOrigin",
  "Access-Control-Expose-Headers": "AccessControlExposeHeaders",
  "X-Request-Id": "XRequestId",
  "Cache-Control": "CacheControl",
};

function headerOccurrences(res, name) {
  const lower = name.toLowerCase();
  const values = [];
  for (let i = 0; i < res.rawHeaders.length; i += 2) {
    if (res.rawHeaders[i].toLowerCase() === lower) values.push(res.rawHeaders[i + 1]);
  }
  return values;
}

function checkHeader(res, name, headerObj, headerPointer, problems) {
  const values = headerOccurrences(res, name);
  if (values.length === 0) {
    if (headerObj.required) problems.push(`missing header ${name}`);
    return;
  }
  if (values.length > 1) {
    problems.push(`header ${name} sent ${values.length} times: ${JSON.stringify(values)}`);
    return;
  }
  const raw = values[0];
  const schemaPtr = `${headerPointer}/schema`;
  const schema = resolvePointer(schemaPtr);
  let value = raw;
  if (schema.type === "integer") {
    if (!/^(0|[1-9][0-9]*)$/.test(raw)) {
      problems.push(`header ${name}: ${JSON.stringify(raw)} is not a non-negative integer`);
      return;
    }
    value = Number(raw);
  }
  const v = validatorAt(schemaPtr);
  if (!v(value)) {
    problems.push(`header ${name}: ${JSON.stringify(raw)} ${formatErrors(v.errors)}`);
  }
}

export function mediaType(res) {
  const ct = res.headers["content-type"];
  return ct ? ct.split(";")[0].trim().toLowerCase() : null;
}

function findOperation(pathname, method, server) {
  const item = spec.paths[pathname];
  if (!item) return null;
  const isAdmin = Array.isArray(item.servers) && item.servers.length > 0;
  if ((server === "admin") !== isAdmin) return null;
  const m = method.toLowerCase();
  const op = item[m];
  if (!op) return null;
  return [op, `/paths/${escapePointer(pathname)}/${m}`];
}

// Validates `res` (from lib/http.mjs) against openapi.yaml and returns the
// parsed JSON body (or null). Throws an Error listing every deviation.
export function check(res) {
  const problems = [];
  const server = res.server || "public";
  const pathname = res.path.split("?")[0];
  const found = findOperation(pathname, res.method, server);

  for (const s of secrets) {
    const rawHead = res.rawHeaders.join("\n");
    if (rawHead.includes(s) || res.body.includes(s)) {
      problems.push(`response echoes a secret (API key) ${s.slice(0, 6)}...`);
    }
  }

  let json = null;
  if (!found) {
    if (server === "public") {
      // Not described by the spec: still bound by "Headers on every response".
      for (const [name, comp] of Object.entries(EVERY_RESPONSE_HEADERS)) {
        const ptr = `/components/headers/${comp}`;
        checkHeader(res, name, resolvePointer(ptr), ptr, problems);
      }
    } else {
      problems.push(`openapi.yaml has no ${res.method} ${pathname} on the ${server} listener`);
    }
  } else {
    const [op, opPtr] = found;
    const code = String(res.status);
    let [response, respPtr] = [null, null];
    if (op.responses[code]) {
      [response, respPtr] = deref(op.responses[code], `${opPtr}/responses/${code}`);
    } else {
      problems.push(`status ${code} is not a documented response of ${res.method} ${pathname}`);
    }
    if (response) {
      for (const [name, h] of Object.entries(response.headers || {})) {
        const [headerObj, headerPtr] = deref(h, `${respPtr}/headers/${escapePointer(name)}`);
        checkHeader(res, name, headerObj, headerPtr, problems);
      }
      const content = response.content || {};
      const types = Object.keys(content);
      const bodyAllowedEmpty = res.method === "HEAD" || res.status === 405;
      if (res.method === "HEAD" || types.length === 0) {
        if (res.body.length > 0) problems.push(`unexpected body: ${res.body.slice(0, 200)}`);
      } else if (res.body.length === 0 && bodyAllowedEmpty) {
        // 405 may come without a body.
      } else {
        const mt = mediaType(res);
        if (!types.includes(mt)) {
          problems.push(`Content-Type ${JSON.stringify(res.headers["content-type"])} is not one of ${types.join(", ")}`);
        } else if (mt === "application/json" || mt.endsWith("+json")) {
          try {
            json = JSON.parse(res.body);
          } catch (e) {
            problems.push(`body is not JSON: ${e.message}: ${res.body.slice(0, 200)}`);
          }
          if (json !== null) {
            const v = validatorAt(`${respPtr}/content/${escapePointer(mt)}/schema`);
            if (!v(json)) problems.push(`body: ${formatErrors(v.errors)}`);
            if (mt === "application/problem+json" && json && json.status !== res.status) {
              problems.push(`problem status ${json.status} differs from HTTP status ${res.status}`);
            }
          }
        }
      }
    }
  }

  if (problems.length > 0) {
    throw new Error(
      `response does not match openapi.yaml / docs/api.md:\n  - ${problems.join("\n  - ")}\n` +
        describeExchange(res),
    );
  }
  return json;
}

// The exact request and response, for failure messages.
export function describeExchange(res) {
  const reqHeaders = Object.entries(res.requestHeaders || {})
    .map(([k, v]) => `    ${k}: ${v}`)
    .join("\n");
  const respHeaders = [];
  for (let i = 0; i < res.rawHeaders.length; i += 2) {
    respHeaders.push(`    ${res.rawHeaders[i]}: ${res.rawHeaders[i + 1]}`);
  }
  const body = res.body.length > 1500 ? res.body.slice(0, 1500) + `... (${res.body.length} bytes)` : res.body;
  return (
    `  request: ${res.method} ${res.path} (${res.server || "public"} listener)\n${reqHeaders}\n` +
    `  response: ${res.status}\n${respHeaders.join("\n")}\n    ${body}`
  );
}
