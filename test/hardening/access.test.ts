// Access: every authenticated route of the real local server (startLocalServer on 127.0.0.1:0, a
// temp DATA_DIR) tried with no token and with every kind of bad token, in local (HS256) mode and in
// JWKS mode with an issuer; then with another user's ids: sessions, uploads, stream tokens, and
// signed /files URLs with altered paths, expiry and signatures. Each is refused with the right
// status, and nothing the refused request tried to do happened.
import http from "node:http";
import type net from "node:net";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAuth } from "../../src/http/auth.js";
import { makeImage } from "../helpers/images.js";
import { type ImageSource, type Json, startImageSource, startService, type TestService } from "../http/harness.js";

type PrivateKey = Awaited<ReturnType<typeof generateKeyPair>>["privateKey"];

const SECRET = "h9-access-tests-secret-0123456789abcdef-0123456789";
const key = new TextEncoder().encode(SECRET);
const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");
const now = () => Math.floor(Date.now() / 1000);

let src: ImageSource;
let svc: TestService;
let png: Buffer;
/** Moves the server's clock (signed URL expiry); tokens are minted against real time. */
let clockOffsetMs = 0;

const OPS = { type: "operations", operations: [{ op: "resize", width: 8 }] };

beforeAll(async () => {
  src = await startImageSource();
  png = await makeImage({ width: 24, height: 16, color: "#3366cc" });
  src.set("/a.png", png);
  svc = await startService(
    { JWT_SECRET: SECRET, FETCH_ALLOW_HOSTS: `127.0.0.1:${src.port}` },
    { clock: { now: () => Date.now() + clockOffsetMs } },
  );
});
afterAll(async () => {
  await svc?.close();
  await src?.close();
});

/** A local-mode token: HS256 over `secret` with the local issuer and audience unless overridden. */
function localToken(claims: Record<string, unknown>, secret: Uint8Array = key, header: Record<string, unknown> = {}) {
  const { sub = "alice", iss = "imgedit-local", aud = "imgedit", exp = now() + 600, ...rest } = claims;
  const jwt = new SignJWT(rest).setProtectedHeader({ alg: "HS256", ...header }).setIssuedAt(now() - 5);
  if (sub !== null) jwt.setSubject(sub as string);
  if (iss !== null) jwt.setIssuer(iss as string);
  if (aud !== null) jwt.setAudience(aud as string);
  if (exp !== null) jwt.setExpirationTime(exp as number);
  return jwt.sign(secret);
}

interface Route {
  name: string;
  method: string;
  path: () => string;
  body?: () => string | Uint8Array;
  type?: string;
}

let aliceSession: string;
let aliceUpload: string;

const ROUTES: Route[] = [
  {
    name: "POST /image-edit",
    method: "POST",
    path: () => "/image-edit",
    body: () => JSON.stringify({ images: [{ url: `${src.base}/a.png` }], operation: OPS }),
    type: "application/json",
  },
  {
    name: "POST /image-edit/parse",
    method: "POST",
    path: () => "/image-edit/parse",
    body: () => JSON.stringify({ command: "resize to 10px wide" }),
    type: "application/json",
  },
  { name: "GET /image-edit/sessions", method: "GET", path: () => "/image-edit/sessions" },
  { name: "GET /image-edit/sessions/:id", method: "GET", path: () => `/image-edit/sessions/${aliceSession}` },
  { name: "DELETE /image-edit/sessions/:id", method: "DELETE", path: () => `/image-edit/sessions/${aliceSession}` },
  { name: "GET /image-edit/progress/:id", method: "GET", path: () => `/image-edit/progress/${aliceSession}` },
  {
    name: "POST /uploads",
    method: "POST",
    path: () => "/uploads?name=a.png",
    body: () => new Uint8Array(png),
    type: "application/octet-stream",
  },
];

function call(base: string, r: Route, authorization?: string): Promise<Response> {
  const headers: Record<string, string> = {};
  if (authorization !== undefined) headers.authorization = authorization;
  if (r.type) headers["content-type"] = r.type;
  return fetch(base + r.path(), { method: r.method, headers, body: r.body?.() });
}

async function expectRefused(res: Response, status: number, code: string, what: string) {
  const text = await res.text();
  expect(res.status, `${what}: ${text}`).toBe(status);
  const body = JSON.parse(text) as Json;
  expect(body.error.code, what).toBe(code);
  if (status === 401) expect(res.headers.get("www-authenticate"), what).toMatch(/^Bearer/);
}

async function waitDone(sessionId: string, user = "alice"): Promise<Json> {
  for (let i = 0; i < 200; i++) {
    const s = (await (await svc.api(`/image-edit/sessions/${sessionId}`, { user })).json()) as Json;
    if (["completed", "failed", "partial"].includes(s.status)) return s;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`session ${sessionId} did not finish`);
}

/** Alice's sessions and uploads, as the server sees them through her own valid token. */
async function aliceState() {
  const list = (await (await svc.api("/image-edit/sessions?limit=100")).json()) as Json;
  return { sessions: (list.items as Json[]).map((s) => s.sessionId).sort() };
}

beforeAll(async () => {
  const res = await svc.api("/image-edit", {
    method: "POST",
    body: JSON.stringify({ images: [{ id: "one", url: `${src.base}/a.png` }], operation: OPS }),
  });
  expect(res.status).toBe(202);
  aliceSession = ((await res.json()) as Json).sessionId;
  const up = await svc.api("/uploads?name=mine.png", {
    method: "POST",
    body: new Uint8Array(png),
    headers: { "content-type": "application/octet-stream" },
  });
  expect(up.status).toBe(201);
  aliceUpload = ((await up.json()) as Json).url;
  expect(aliceUpload).toMatch(/^upload:[a-f0-9]{32}$/);
  await waitDone(aliceSession);
});

describe("local mode: every authenticated route refuses bad tokens with 401", () => {
  const badTokens: [string, () => Promise<string | undefined>][] = [
    ["no Authorization header", async () => undefined],
    ["a Basic credential", async () => "Basic YWxpY2U6cGFzc3dvcmQ="],
    ["Bearer with nothing after it", async () => "Bearer "],
    ["garbage", async () => "Bearer not.a.jwt"],
    ["expired", async () => `Bearer ${await localToken({ exp: now() - 120 })}`],
    ["without an expiry (no exp), rightly signed", async () => `Bearer ${await localToken({ exp: null })}`],
    ["not yet valid (nbf in an hour)", async () => `Bearer ${await localToken({ nbf: now() + 3600 })}`],
    [
      "wrongly signed (another secret)",
      async () => `Bearer ${await localToken({}, new TextEncoder().encode("another secret, same claims, 0123456789"))}`,
    ],
    [
      "alg none",
      async () =>
        `Bearer ${b64({ alg: "none", typ: "JWT" })}.${b64({ sub: "alice", iss: "imgedit-local", aud: "imgedit", exp: now() + 600 })}.`,
    ],
    [
      "alg none with the real signature kept",
      async () => {
        const [, p, s] = (await localToken({})).split(".");
        return `Bearer ${b64({ alg: "none" })}.${p}.${s}`;
      },
    ],
    [
      "payload swapped under a valid signature",
      async () => {
        const [h, , s] = (await localToken({ sub: "bob" })).split(".");
        return `Bearer ${h}.${b64({ sub: "alice", iss: "imgedit-local", aud: "imgedit", exp: now() + 600 })}.${s}`;
      },
    ],
    [
      "another issuer (right secret)",
      async () => `Bearer ${await localToken({ iss: "https://issuer.elsewhere.test/" })}`,
    ],
    ["no issuer", async () => `Bearer ${await localToken({ iss: null })}`],
    ["another audience", async () => `Bearer ${await localToken({ aud: "some-other-api" })}`],
    ["no subject", async () => `Bearer ${await localToken({ sub: null })}`],
    ["a subject that is a path", async () => `Bearer ${await localToken({ sub: "../bob" })}`],
    ["HS512 instead of HS256", async () => `Bearer ${await localToken({}, key, { alg: "HS512" })}`],
    [
      "a stream token used as a login token",
      async () =>
        `Bearer ${await createAuth({ config: {}, secret: key } as never).signStreamToken("alice", aliceSession)}`,
    ],
  ];

  it("a valid token passes every route (the refusals below are about the token)", async () => {
    const good = `Bearer ${await localToken({})}`;
    for (const r of ROUTES.filter((x) => !x.name.startsWith("DELETE"))) {
      const res = await call(svc.base, r, good);
      expect(res.status, r.name).toBeLessThan(300);
      await res.body?.cancel();
    }
  });

  it.each(badTokens)("%s -> 401 on every route, and nothing changes", async (_name, make) => {
    const before = await aliceState();
    for (const r of ROUTES) {
      const auth = await make();
      await expectRefused(await call(svc.base, r, auth), 401, "UNAUTHORIZED", `${r.name} with ${_name}`);
    }
    // The refused DELETE deleted nothing, the refused POST created nothing.
    expect(await aliceState()).toEqual(before);
    expect((await svc.api(`/image-edit/sessions/${aliceSession}`)).status).toBe(200);
  });

  it("bad stream tokens in ?token= -> 401 on the progress stream", async () => {
    const other = await svc.api("/image-edit", {
      method: "POST",
      body: JSON.stringify({ images: [{ url: `${src.base}/a.png` }], operation: OPS }),
    });
    const otherSession = ((await other.json()) as Json).sessionId as string;
    const past = createAuth({ config: {}, secret: key, clock: { now: () => Date.now() - 7200_000 } } as never);
    const forged = createAuth({
      config: {},
      secret: new TextEncoder().encode("not the server secret at all 123"),
    } as never);
    const serverAuth = createAuth({ config: {}, secret: key } as never);
    const cases: [string, string][] = [
      ["garbage", "x.y.z"],
      ["a login token", await localToken({})],
      ["expired", await past.signStreamToken("alice", aliceSession, 60)],
      ["wrongly signed", await forged.signStreamToken("alice", aliceSession)],
      ["for alice's other session", await serverAuth.signStreamToken("alice", otherSession)],
      // base64url decoding skips characters outside its alphabet: junk after the right signature
      ["the right one with junk appended", `${await serverAuth.signStreamToken("alice", aliceSession)}!!`],
      ["the right one with a space appended", `${await serverAuth.signStreamToken("alice", aliceSession)} `],
    ];
    for (const [name, token] of cases) {
      const res = await fetch(`${svc.base}/image-edit/progress/${aliceSession}?token=${encodeURIComponent(token)}`);
      await expectRefused(res, 401, "UNAUTHORIZED", `stream token ${name}`);
    }
    // The right one opens the stream (a finished session replays and closes).
    const ok = await fetch(
      `${svc.base}/image-edit/progress/${aliceSession}?token=${encodeURIComponent(await serverAuth.signStreamToken("alice", aliceSession))}`,
    );
    expect(ok.status).toBe(200);
    expect(await ok.text()).toMatch(/event: complete/);
    await waitDone(otherSession);
  });
});

describe("another user's ids", () => {
  it("bob gets 404 for alice's session on every session route, and it survives", async () => {
    for (const [method, path] of [
      ["GET", `/image-edit/sessions/${aliceSession}`],
      ["DELETE", `/image-edit/sessions/${aliceSession}`],
      ["GET", `/image-edit/progress/${aliceSession}`],
    ]) {
      await expectRefused(await svc.api(path, { method, user: "bob" }), 404, "NOT_FOUND", `bob ${method} ${path}`);
    }
    // Indistinguishable from a session that does not exist.
    const missing = await svc.api(`/image-edit/sessions/${globalThis.crypto.randomUUID()}`, { user: "bob" });
    expect(missing.status).toBe(404);
    const bobList = (await (await svc.api("/image-edit/sessions", { user: "bob" })).json()) as Json;
    expect((bobList.items as Json[]).map((s) => s.sessionId)).not.toContain(aliceSession);
    const still = (await (await svc.api(`/image-edit/sessions/${aliceSession}`)).json()) as Json;
    expect(still.status).toBe("completed");
  });

  it("a stream token minted for bob cannot open alice's stream (404), and alice's cannot be re-bound", async () => {
    const serverAuth = createAuth({ config: {}, secret: key } as never);
    const bobs = await serverAuth.signStreamToken("bob", aliceSession);
    await expectRefused(
      await fetch(`${svc.base}/image-edit/progress/${aliceSession}?token=${encodeURIComponent(bobs)}`),
      404,
      "NOT_FOUND",
      "bob's stream token on alice's session",
    );
    // Bob's own session's stream token, pointed at alice's session id.
    const res = await svc.api("/image-edit", {
      method: "POST",
      user: "bob",
      body: JSON.stringify({ images: [{ url: `${src.base}/a.png` }], operation: OPS }),
    });
    const bob = (await res.json()) as Json;
    await expectRefused(
      await fetch(`${svc.base}/image-edit/progress/${aliceSession}?token=${encodeURIComponent(bob.streamToken)}`),
      401,
      "UNAUTHORIZED",
      "bob's real stream token on alice's session",
    );
    await waitDone(bob.sessionId, "bob");
  });

  it("bob cannot use alice's upload id: refused exactly like an id that does not exist", async () => {
    const use = async (url: string) =>
      svc.api("/image-edit", {
        method: "POST",
        user: "bob",
        body: JSON.stringify({ images: [{ url }], operation: OPS }),
      });
    const stolen = await use(aliceUpload);
    const stolenBody = (await stolen.json()) as Json;
    const ghost = await use(`upload:${"0".repeat(32)}`);
    const ghostBody = (await ghost.json()) as Json;
    expect(stolen.status).toBe(400);
    expect(stolenBody.error).toMatchObject({ code: "INVALID_INPUT", field: "images[0].url" });
    expect(ghost.status).toBe(stolen.status);
    expect(stolenBody.error.message.replace(/[a-f0-9]{32}/, "ID")).toBe(
      ghostBody.error.message.replace(/[a-f0-9]{32}/, "ID"),
    );
    // Alice can still use it.
    const mine = await svc.api("/image-edit", {
      method: "POST",
      body: JSON.stringify({ images: [{ url: aliceUpload }], operation: OPS }),
    });
    expect(mine.status).toBe(202);
    const done = await waitDone(((await mine.json()) as Json).sessionId);
    expect(done.status).toBe("completed");
  });

  describe("signed /files URLs", () => {
    let url: URL;
    beforeAll(async () => {
      const s = (await (await svc.api(`/image-edit/sessions/${aliceSession}`)).json()) as Json;
      url = new URL(s.images[0].result.url, svc.base);
      expect(url.pathname).toMatch(/^\/files\/alice\//);
    });

    const get = (u: URL | string) => fetch(u.toString());
    /** GET with the path sent byte for byte (fetch would resolve "..", which is the point here). */
    const rawGet = (path: string): Promise<{ status: number; body: string }> =>
      new Promise((resolve, reject) => {
        const req = http.request({ host: "127.0.0.1", port: new URL(svc.base).port, path, method: "GET" }, (res) => {
          let body = "";
          res.on("data", (d) => {
            body += d;
          });
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
        });
        req.on("error", reject);
        req.end();
      });

    it("the signed URL works without a token (the refusals below are about the alteration)", async () => {
      const res = await get(url);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toMatch(/^image\//);
      expect(Buffer.from(await res.arrayBuffer()).length).toBeGreaterThan(0);
    });

    it("an altered path with the same exp and sig -> 403", async () => {
      const p = url.pathname;
      const variants = [
        p.replace("/files/alice/", "/files/bob/"),
        p.replace(/\.(\w+)$/, ".png.$1"),
        p.replace(/\/([^/]+)$/, "/other.png"),
        `${p}x`,
        // Dot segments are resolved before routing: one that lands on another key is refused.
        p.replace("/files/alice/", "/files/alice/x/../../bob/"),
        p.replace("/files/alice/", "/files/alice%2F..%2Falice/"),
        p.replace("/files/alice/", "/files/ALICE/"),
      ];
      for (const v of variants) {
        const res = await rawGet(`${v}${url.search}`);
        expect(res.status, `${v} -> ${res.status} ${res.body.slice(0, 120)}`).toBe(403);
      }
      // The unaltered path through the same raw client is served (the 403s are the alteration).
      expect((await rawGet(`${p}${url.search}`)).status).toBe(200);
    });

    it("an altered expiry or signature -> 403", async () => {
      const alter = (f: (q: URLSearchParams) => void) => {
        const u = new URL(url);
        f(u.searchParams);
        return u;
      };
      const sig = url.searchParams.get("sig") as string;
      const exp = Number(url.searchParams.get("exp"));
      const cases: [string, URL][] = [
        ["exp + 1 day", alter((q) => q.set("exp", String(exp + 86_400)))],
        ["exp - 1", alter((q) => q.set("exp", String(exp - 1)))],
        ["exp not a number", alter((q) => q.set("exp", "99999999999999999999"))],
        ["no exp", alter((q) => q.delete("exp"))],
        ["no sig", alter((q) => q.delete("sig"))],
        ["sig with one character changed", alter((q) => q.set("sig", (sig[0] === "A" ? "B" : "A") + sig.slice(1)))],
        ["sig truncated", alter((q) => q.set("sig", sig.slice(0, -2)))],
        ["empty sig", alter((q) => q.set("sig", ""))],
        [
          "sig twice (a valid one second)",
          alter((q) => {
            q.set("sig", "x");
            q.append("sig", sig);
          }),
        ],
      ];
      for (const [name, u] of cases) {
        await expectRefused(await get(u), 403, "FORBIDDEN", name);
      }
    });

    it("a token does not replace the signature: alice's bearer on an unsigned /files path -> 403", async () => {
      const res = await fetch(new URL(url.pathname, svc.base), {
        headers: { authorization: `Bearer ${await localToken({})}` },
      });
      await expectRefused(res, 403, "FORBIDDEN", "bearer without signature");
    });

    it("an expired signed URL -> 403 (server clock moved past its expiry)", async () => {
      const exp = Number(url.searchParams.get("exp"));
      clockOffsetMs = (exp - now() + 60) * 1000;
      try {
        await expectRefused(await get(url), 403, "FORBIDDEN", "expired signed URL");
      } finally {
        clockOffsetMs = 0;
      }
      expect((await get(url)).status).toBe(200);
    });
  });
});

describe("JWKS mode with an issuer: tokens from another key or issuer are refused", () => {
  const ISSUER = "https://issuer.imgedit.test/";
  const AUDIENCE = "imgedit-api";
  let jwksServer: http.Server;
  let jwks: TestService;
  let good: PrivateKey;
  let other: PrivateKey;
  let jwksHits = 0;

  beforeAll(async () => {
    const a = await generateKeyPair("RS256", { extractable: true });
    const b = await generateKeyPair("RS256", { extractable: true });
    good = a.privateKey;
    other = b.privateKey;
    const pub = { ...(await exportJWK(a.publicKey)), kid: "k1", alg: "RS256", use: "sig" };
    jwksServer = http.createServer((_req, res) => {
      jwksHits++;
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ keys: [pub] }));
    });
    await new Promise<void>((r) => jwksServer.listen(0, "127.0.0.1", () => r()));
    const port = (jwksServer.address() as net.AddressInfo).port;
    jwks = await startService({
      JWT_SECRET: SECRET,
      JWKS_URL: `http://127.0.0.1:${port}/.well-known/jwks.json`,
      JWT_ISSUER: ISSUER,
      JWT_AUDIENCE: AUDIENCE,
      FETCH_ALLOW_HOSTS: `127.0.0.1:${src.port}`,
    });
  });
  afterAll(async () => {
    await jwks?.close();
    await new Promise<void>((r) => (jwksServer ? jwksServer.close(() => r()) : r()));
  });

  const rs = (claims: Record<string, unknown>, signer: PrivateKey = good, kid = "k1") => {
    const { sub = "carol", iss = ISSUER, aud = AUDIENCE, exp = now() + 600, ...rest } = claims;
    const jwt = new SignJWT(rest).setProtectedHeader({ alg: "RS256", kid }).setIssuedAt(now() - 5);
    if (sub !== null) jwt.setSubject(sub as string);
    if (iss !== null) jwt.setIssuer(iss as string);
    if (aud !== null) jwt.setAudience(aud as string);
    if (exp !== null) jwt.setExpirationTime(exp as number);
    return jwt.sign(signer);
  };

  it("the issuer's own token passes (the refusals below are about the token)", async () => {
    const t = await rs({});
    const list = await fetch(`${jwks.base}/image-edit/sessions`, { headers: { authorization: `Bearer ${t}` } });
    expect(list.status).toBe(200);
    expect(jwksHits).toBeGreaterThan(0);
    // Local sign-in is off when an issuer is configured.
    expect((await fetch(`${jwks.base}/auth/local`, { method: "POST", body: "{}" })).status).toBe(404);
  });

  const bad: [string, () => Promise<string>][] = [
    ["another key with the same kid", () => rs({}, other)],
    ["another key with an unknown kid", () => rs({}, other, "k2")],
    ["another issuer, right key", () => rs({ iss: "https://accounts.other-issuer.test/" })],
    ["no issuer", () => rs({ iss: null })],
    ["another audience", () => rs({ aud: "someone-else" })],
    ["expired", () => rs({ exp: now() - 120 })],
    ["without an expiry (no exp), right key", () => rs({ exp: null })],
    ["a local HS256 token (same JWT_SECRET)", () => localToken({})],
    [
      "HS256 signed with the public key's modulus (algorithm confusion)",
      async () => {
        const pub = await exportJWK(good);
        return new SignJWT({})
          .setProtectedHeader({ alg: "HS256", kid: "k1" })
          .setSubject("carol")
          .setIssuer(ISSUER)
          .setAudience(AUDIENCE)
          .setExpirationTime(now() + 600)
          .sign(new TextEncoder().encode(pub.n as string));
      },
    ],
    [
      "alg none",
      async () =>
        `${b64({ alg: "none", kid: "k1" })}.${b64({ sub: "carol", iss: ISSUER, aud: AUDIENCE, exp: now() + 600 })}.`,
    ],
  ];

  it.each(bad)("%s -> 401 on every route", async (_name, make) => {
    const token = await make();
    for (const r of ROUTES) {
      const res = await call(jwks.base, r, `Bearer ${token}`);
      await expectRefused(res, 401, "UNAUTHORIZED", `${r.name} with ${_name}`);
    }
  });

  it("the issuer's key set unreachable: 503 AUTH_UNAVAILABLE (not 401: signing in again cannot help), then 200 once it is back", async () => {
    let down = true;
    const keys = await generateKeyPair("RS256", { extractable: true });
    const served = { ...(await exportJWK(keys.publicKey)), kid: "k9", alg: "RS256", use: "sig" };
    const flaky = http.createServer((_req, res) => {
      if (down) res.writeHead(500).end("issuer down");
      else res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ keys: [served] }));
    });
    await new Promise<void>((r) => flaky.listen(0, "127.0.0.1", () => r()));
    const svc = await startService({
      JWKS_URL: `http://127.0.0.1:${(flaky.address() as net.AddressInfo).port}/jwks.json`,
      JWT_ISSUER: ISSUER,
    });
    try {
      const token = await new SignJWT({})
        .setProtectedHeader({ alg: "RS256", kid: "k9" })
        .setSubject("carol")
        .setIssuer(ISSUER)
        .setExpirationTime(now() + 600)
        .sign(keys.privateKey);
      const res = await fetch(`${svc.base}/image-edit/sessions`, { headers: { authorization: `Bearer ${token}` } });
      expect(res.status).toBe(503);
      const body = (await res.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe("AUTH_UNAVAILABLE");
      expect(body.error.message).toMatch(/JWKS_URL/);
      down = false;
      const again = await fetch(`${svc.base}/image-edit/sessions`, { headers: { authorization: `Bearer ${token}` } });
      expect(again.status).toBe(200);
    } finally {
      await svc.close();
      await new Promise<void>((r) => flaky.close(() => r()));
    }
  });
});
