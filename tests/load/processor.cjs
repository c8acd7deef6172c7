// Artillery processor for tests/load/image-processing*.yml (CommonJS: Artillery loads it with require).
// - mints an HS256 Bearer token per virtual user, signed with the server's secret: JWT_SECRET, or the
//   secret the local server keeps in DATA_DIR/jwt-secret (issuer/audience as src/http/auth.ts checks);
// - serves the test image from a loopback HTTP server (port LOAD_IMAGE_PORT, default 8099) unless
//   IMAGE_URL points somewhere else (needed when TARGET is a remote deployment);
// - records every accepted session (id + token) in LOAD_SESSIONS_FILE, so the runner can wait for
//   the sessions to finish and count failed images.
"use strict";
const crypto = require("node:crypto");
const fs = require("node:fs");
const http = require("node:http");
const path = require("node:path");

const ISSUER = "imgedit-local";
const AUDIENCE = "imgedit";
const DEFAULT_IMAGE = path.resolve(__dirname, "../../../shared/fixtures/2569067123_aca715a2ee_o.jpg");

function secret() {
  if (process.env.JWT_SECRET) return process.env.JWT_SECRET;
  const dir = process.env.DATA_DIR || "./data";
  try {
    return fs.readFileSync(path.join(dir, "jwt-secret"), "utf8").trim();
  } catch (e) {
    throw new Error(`no JWT_SECRET and no ${path.join(dir, "jwt-secret")}: set JWT_SECRET or DATA_DIR (${e.message})`);
  }
}

const b64url = (buf) => Buffer.from(buf).toString("base64url");

/** HS256 JWT: {sub, iss, aud, iat, exp}. */
function mintToken(user, key = secret(), ttlSeconds = 3600) {
  const now = Math.floor(Date.now() / 1000);
  const head = b64url(JSON.stringify({ alg: "HS256", typ: "JWT" }));
  const body = b64url(JSON.stringify({ sub: user, iss: ISSUER, aud: AUDIENCE, iat: now, exp: now + ttlSeconds }));
  const sig = crypto.createHmac("sha256", key).update(`${head}.${body}`).digest("base64url");
  return `${head}.${body}.${sig}`;
}

let imageServer;
/** Starts (once per process) the loopback server for the image; resolves to the image URL. */
function ensureImageServer() {
  if (process.env.IMAGE_URL) return Promise.resolve(process.env.IMAGE_URL);
  if (imageServer) return imageServer;
  const port = Number(process.env.LOAD_IMAGE_PORT || 8099);
  const file = process.env.LOAD_IMAGE || DEFAULT_IMAGE;
  const body = fs.readFileSync(file);
  const url = `http://127.0.0.1:${port}/test.jpg`;
  imageServer = new Promise((resolve, reject) => {
    const server = http.createServer((req, res) => {
      if (!req.url?.startsWith("/test.jpg")) return res.writeHead(404).end();
      res.writeHead(200, { "content-type": "image/jpeg", "content-length": body.length });
      res.end(req.method === "HEAD" ? undefined : body);
    });
    server.on("error", (e) => {
      // another Artillery worker on this machine already serves the same file
      if (e.code === "EADDRINUSE") resolve(url);
      else reject(e);
    });
    server.listen(port, "127.0.0.1", () => {
      server.unref();
      resolve(url);
    });
  });
  return imageServer;
}

let key;
let seq = 0;
/** beforeScenario hook: a fresh user per virtual user (per-user rate limits stay out of the way). */
function setAuth(context, _events, done) {
  ensureImageServer().then(
    (url) => {
      try {
        key ??= secret();
        const user = `load-${process.pid}-${++seq}-${crypto.randomBytes(3).toString("hex")}`;
        context.vars.authToken = mintToken(user, key);
        context.vars.imageUrl = url;
        done();
      } catch (e) {
        done(e);
      }
    },
    (e) => done(e),
  );
}

/** afterResponse hook: remember accepted sessions for the completion check. */
function recordSession(_req, res, context, events, done) {
  const file = process.env.LOAD_SESSIONS_FILE;
  if (file && res.statusCode === 202) {
    try {
      const { sessionId } = JSON.parse(res.body);
      if (sessionId) fs.appendFileSync(file, `${JSON.stringify({ sessionId, token: context.vars.authToken })}\n`);
    } catch {
      events.emit("counter", "imgedit.unreadable_202", 1);
    }
  }
  done();
}

module.exports = { setAuth, recordSession, mintToken, ensureImageServer, secret, DEFAULT_IMAGE };
