// A minimal HTTP client over node:http that sends the request target exactly
// as given (no URL normalisation), so the suite controls every byte of the
// query string, and keeps the raw response headers (duplicates included).
// A body sent with a Content-Encoding is decoded as a client would (gzip by
// node's zlib; zstd, which node 20's zlib lacks, by the zstd command), so
// that every check sees the identity body; the bytes as sent stay in
// `bytes`.
import { execFileSync } from "node:child_process";
import http from "node:http";
import net from "node:net";
import zlib from "node:zlib";

// The identity bytes of `bytes` sent with Content-Encoding `coding`; throws
// when they do not decode (a truncated or corrupt body, or a coding this
// suite never asked for).
export function decodeBody(bytes, coding) {
  if (coding === undefined || coding === "identity") return bytes;
  if (coding === "gzip") return zlib.gunzipSync(bytes);
  if (coding === "zstd") {
    return execFileSync("zstd", ["-d", "-c", "-q"], { input: bytes, maxBuffer: 64 << 20 });
  }
  throw new Error(`unexpected Content-Encoding ${JSON.stringify(coding)}`);
}

// Distinct client addresses: requests that fail before a key is known are
// counted per client address, so each request gets its own address (sent as
// X-Forwarded-For from the trusted 127.0.0.1) unless a test picks one.
const base = 1 + Math.floor(Math.random() * 200);
let counter = 0;
export function freshAddress() {
  counter += 1;
  return `10.${base}.${(counter >> 8) & 255}.${counter & 255}`;
}

// `json` (an object, serialised and percent-encoded) or `rawJson` (text,
// percent-encoded) or `target` (the exact request target).
export function statusTarget({ json, rawJson, target } = {}) {
  if (target !== undefined) return target;
  if (rawJson !== undefined) return `/query/status?json=${encodeURIComponent(rawJson)}`;
  if (json !== undefined) return `/query/status?json=${encodeURIComponent(JSON.stringify(json))}`;
  return "/query/status";
}

/**
 * Sends one request and resolves with
 * {method, path, server, requestHeaders, status, headers, rawHeaders, bytes,
 * body}: `bytes` as sent, `body` the identity text (decoded, see decodeBody).
 * options: port, method (GET), path, headers ({}), xff (a fresh address by
 * default; null to send none), server ("public" | "admin"), body, timeoutMs.
 */
export function request({ port, method = "GET", path, headers = {}, xff, server = "public", body, timeoutMs = 20000 }) {
  const requestHeaders = { ...headers };
  if (xff === undefined && server === "public") xff = freshAddress();
  if (xff !== null && xff !== undefined) requestHeaders["X-Forwarded-For"] = xff;
  if (body !== undefined) requestHeaders["Content-Length"] = Buffer.byteLength(body);
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: "127.0.0.1", port, method, path, headers: requestHeaders, agent: false },
      (res) => {
        const chunks = [];
        res.on("data", (c) => chunks.push(c));
        res.on("end", () => {
          const bytes = Buffer.concat(chunks);
          let decoded;
          try {
            decoded = decodeBody(bytes, res.headers["content-encoding"]);
          } catch (e) {
            reject(new Error(`${method} ${path}: the ${res.headers["content-encoding"]} body does not decode: ${e.message}`));
            return;
          }
          resolve({
            method,
            path,
            server,
            requestHeaders,
            status: res.statusCode,
            headers: res.headers,
            rawHeaders: res.rawHeaders,
            bytes,
            body: decoded.toString("utf8"),
          });
        });
        res.on("error", reject);
      },
    );
    req.setTimeout(timeoutMs, () => {
      req.destroy(new Error(`no answer to ${method} ${path} on port ${port} within ${timeoutMs} ms`));
    });
    req.on("error", reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

export function bearer(token) {
  return { Authorization: `Bearer ${token}` };
}

// Sends `text` as-is on a new connection and collects what comes back until
// the server closes the connection or `waitMs` pass. For what node:http
// hides, such as bytes after a HEAD response's headers.
export function rawExchange(port, text, waitMs = 1000) {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: "127.0.0.1", port });
    const chunks = [];
    let closed = false;
    const finish = () => {
      clearTimeout(timer);
      sock.destroy();
      resolve({ data: Buffer.concat(chunks).toString("latin1"), closed });
    };
    const timer = setTimeout(finish, waitMs);
    sock.on("connect", () => sock.write(text));
    sock.on("data", (d) => chunks.push(d));
    sock.on("end", () => {
      closed = true;
      finish();
    });
    sock.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}
