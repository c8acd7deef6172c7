// `make rollback` moves every function alias the stack defines back together (a rollback of the
// processor alone left its failure recorder and the API on the new code): which aliases move is
// read from the synthesised stack, where each goes is decided by time (version numbers differ per
// function), and `make rollback` itself is run against a loopback stand-in of Lambda's alias API
// (GetAlias, ListVersionsByFunction, UpdateAlias), through the real @aws-sdk/client-lambda.
import { execFile } from "node:child_process";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { promisify } from "node:util";
import { App } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ImgeditStack, PRODUCTION_ALIAS } from "../../infra/stack.js";
import { type AliasState, aliasesOf, planRollback, RELEASE_GAP_MS } from "../../scripts/rollback.js";

const root = path.resolve(import.meta.dirname, "../..");
const MIN = 60_000;
const T0 = Date.parse("2026-05-01T12:00:00Z");

describe("which aliases move: every one the synthesised stack defines", () => {
  it("names the processor, the failure recorder and the API, by the function names the stack was given", () => {
    const names = { processorFunctionName: "p-fn", apiFunctionName: "a-fn", failureRecorderFunctionName: "r-fn" };
    const template = Template.fromStack(new ImgeditStack(new App(), "S", { code: "placeholder", ...names })).toJSON();
    const aliases = aliasesOf(template);
    expect(aliases).toEqual([
      { functionName: "a-fn", aliasName: PRODUCTION_ALIAS },
      { functionName: "p-fn", aliasName: PRODUCTION_ALIAS },
      { functionName: "r-fn", aliasName: PRODUCTION_ALIAS },
    ]);
    // Derived, not listed: as many as the template has (a new alias would join by itself).
    const count = Object.values(template.Resources as Record<string, { Type: string }>).filter(
      (r) => r.Type === "AWS::Lambda::Alias",
    ).length;
    expect(aliases).toHaveLength(count);
  });
});

/** An alias on `current`, with versions [number, minutes after T0]. */
const state = (functionName: string, current: number, versions: [number, number][]): AliasState => ({
  functionName,
  aliasName: "production",
  current: String(current),
  revisionId: `${functionName}-rev`,
  versions: versions.map(([v, min]) => ({ version: String(v), published: T0 + min * MIN })),
});
const targets = (plan: ReturnType<typeof planRollback>) =>
  Object.fromEntries(plan.moves.map((m) => [m.functionName, `${m.from}->${m.to}`]));

describe("where each alias goes", () => {
  // Release 1 at T0 (all three), release 2 at +60 min (processor and recorder: the API's code
  // did not change, so no new API version), release 3 at +120 min (all three).
  const history = () => [
    state("api", 2, [
      [1, 0],
      [2, 121],
    ]),
    state("processor", 3, [
      [1, 0],
      [2, 60],
      [3, 120],
    ]),
    state("recorder", 3, [
      [1, 0],
      [2, 59],
      [3, 119],
    ]),
  ];

  it("by default undoes the last release: each function it published goes back one, together", () => {
    const plan = planRollback(history());
    expect(targets(plan)).toEqual({ api: "2->1", processor: "3->2", recorder: "3->2" });
    expect(plan.before).toBe(T0 + 119 * MIN);
    expect(plan.moves.find((m) => m.functionName === "processor")).toMatchObject({ revisionId: "processor-rev" });
  });

  it("leaves a function the last release did not publish where it is", () => {
    const [api, processor, recorder] = history();
    // After rolling back release 3: the API stays on 1 (release 2 did not publish one).
    const plan = planRollback([
      { ...api, current: "1" },
      { ...processor, current: "2" },
      { ...recorder, current: "2" },
    ]);
    expect(targets(plan)).toEqual({ api: "1->1", processor: "2->1", recorder: "2->1" });
  });

  it("goes back to a given time: every function on its newest version published before it", () => {
    expect(targets(planRollback(history(), T0 + 30 * MIN))).toEqual({
      api: "2->1",
      processor: "3->1",
      recorder: "3->1",
    });
  });

  it("takes versions published further apart than the gap as separate releases", () => {
    const plan = planRollback([
      state("processor", 2, [
        [1, 0],
        [2, 100],
      ]),
      state("recorder", 2, [
        [1, 0],
        [2, 100 - RELEASE_GAP_MS / MIN - 1],
      ]),
    ]);
    expect(targets(plan)).toEqual({ processor: "2->1", recorder: "2->2" });
  });

  it("keeps a function the release published but that has no older version where it is, saying why", () => {
    // the failure recorder's first version comes with the release that gave it versions
    const { moves } = planRollback([
      state("processor", 2, [
        [1, 0],
        [2, 1000],
      ]),
      state("recorder", 1, [[1, 1000]]),
    ]);
    expect(moves.map((m) => [m.functionName, m.from, m.to])).toEqual([
      ["processor", "2", "1"],
      ["recorder", "1", "1"],
    ]);
    expect(moves[1].note).toMatch(/^no version published before .* to go back to$/);
  });
});

interface FakeFunction {
  alias: { version: string; revision: number };
  versions: [number, string][];
  /** UpdateAlias fails (as when the caller may not move it). */
  refuseUpdates?: boolean;
}

/** Lambda's alias API (2015-03-31 REST paths) for a few functions; versions are paged two at a time. */
async function startAliasApi(functions: Record<string, FakeFunction>) {
  const updates: { functionName: string; version: string }[] = [];
  const json = (res: import("node:http").ServerResponse, status: number, body: unknown, type?: string) => {
    res.writeHead(status, { "content-type": "application/json", ...(type && { "x-amzn-errortype": type }) });
    res.end(JSON.stringify(body));
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const url = new URL(req.url ?? "/", "http://x");
      const m = /^\/2015-03-31\/functions\/([^/]+)\/(aliases\/([^/]+)|versions)$/.exec(url.pathname);
      const name = m ? decodeURIComponent(m[1]) : "";
      const fn = functions[name];
      if (!m || !fn || (m[3] && m[3] !== "production"))
        return json(res, 404, { Type: "User", Message: `Function not found: ${name}` }, "ResourceNotFoundException");
      const aliasBody = () => ({
        AliasArn: `arn:aws:lambda:us-east-1:123456789012:function:${name}:production`,
        Name: "production",
        FunctionVersion: fn.alias.version,
        RevisionId: `rev-${fn.alias.revision}`,
      });
      if (m[2] === "versions" && req.method === "GET") {
        const all = [
          ["$LATEST", "2026-05-01T15:00:00.000+0000"] as const,
          ...fn.versions.map(([v, t]) => [String(v), t]),
        ];
        const from = Number(url.searchParams.get("Marker") ?? 0);
        const page = all.slice(from, from + 2);
        return json(res, 200, {
          Versions: page.map(([v, t]) => ({ FunctionName: name, Version: v, LastModified: t })),
          ...(from + 2 < all.length && { NextMarker: String(from + 2) }),
        });
      }
      if (req.method === "GET") return json(res, 200, aliasBody());
      if (req.method === "PUT") {
        if (fn.refuseUpdates)
          return json(res, 403, { Type: "User", message: "not authorized" }, "AccessDeniedException");
        const body = JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}");
        if (body.RevisionId && body.RevisionId !== `rev-${fn.alias.revision}`)
          return json(res, 412, { Type: "User", message: "revision changed" }, "PreconditionFailedException");
        fn.alias = { version: String(body.FunctionVersion), revision: fn.alias.revision + 1 };
        updates.push({ functionName: name, version: fn.alias.version });
        return json(res, 200, aliasBody());
      }
      json(res, 405, { message: "no" });
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    updates,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

describe("make rollback, against a loopback Lambda alias API", () => {
  let api: Awaited<ReturnType<typeof startAliasApi>>;
  const fns: Record<string, FakeFunction> = {};
  beforeAll(async () => {
    // Release 3 (13:00) published the processor and its recorder; the API's last is from 12:00.
    fns["rb-processor"] = {
      alias: { version: "7", revision: 1 },
      versions: [
        [6, "2026-05-01T12:00:05.000+0000"],
        [7, "2026-05-01T13:00:05.000+0000"],
      ],
    };
    fns["rb-recorder"] = {
      alias: { version: "4", revision: 1 },
      versions: [
        [2, "2026-05-01T11:00:00.000+0000"],
        [3, "2026-05-01T12:00:00.000+0000"],
        [4, "2026-05-01T13:00:00.000+0000"],
      ],
    };
    fns["rb-api"] = { alias: { version: "5", revision: 1 }, versions: [[5, "2026-05-01T12:01:00.000+0000"]] };
    api = await startAliasApi(fns);
  });
  afterAll(async () => api?.close());

  const make = (...vars: string[]) => makeRollback(api.endpoint, "rb", ...vars);

  it("with DRY_RUN=1 shows the plan for every alias and moves nothing", async () => {
    const r = await make("DRY_RUN=1");
    expect(r.stdout).toContain(
      "The stack's aliases: rb-api:production, rb-processor:production, rb-recorder:production",
    );
    expect(r.stdout).toMatch(/rb-processor:production 7 -> 6/);
    expect(r.stdout).toMatch(/rb-recorder:production 4 -> 3/);
    expect(r.stdout).toMatch(/rb-api:production stays on 5/);
    expect(r.stdout).toContain("Dry run: nothing moved.");
    expect(api.updates).toEqual([]);
  }, 150_000);

  it("moves the processor and its failure recorder back together, and says what it moved", async () => {
    const r = await make();
    expect(api.updates.sort((a, b) => a.functionName.localeCompare(b.functionName))).toEqual([
      { functionName: "rb-processor", version: "6" },
      { functionName: "rb-recorder", version: "3" },
    ]);
    expect(fns["rb-api"].alias.version).toBe("5");
    expect(r.stdout).toMatch(
      /OK rolled back together: rb-api:production stays on 5 \(published 2026-05-01T12:01:00.000Z\); rb-processor:production 7 -> 6 \(published 2026-05-01T12:00:05.000Z\); rb-recorder:production 4 -> 3/,
    );
  }, 150_000);

  it("VERSION=<n> FUNCTION=<f> moves that one alias (the guide's rollback) and says which stay", async () => {
    const before = api.updates.length;
    const r = await make("VERSION=2", "FUNCTION=recorder");
    expect(api.updates.slice(before)).toEqual([{ functionName: "rb-recorder", version: "2" }]);
    expect(r.stdout).toContain("Only rb-recorder:production moves; rb-api:production, rb-processor:production stay");
    expect(r.stdout).toMatch(/OK rolled back: rb-recorder:production 3 -> 2 \(published 2026-05-01T11:00:00.000Z\)/);
  }, 150_000);

  it("refuses a version the function does not have, and FUNCTION= without VERSION=, moving nothing", async () => {
    const before = api.updates.length;
    const fail = (...vars: string[]) =>
      make(...vars).then(
        () => undefined,
        (e: { stdout?: string; stderr?: string; code?: number }) => e,
      );
    const missing = await fail("VERSION=9", "FUNCTION=processor");
    expect(missing?.code).toBe(2); // make's own status for a failed recipe
    expect(missing?.stderr).toMatch(/rb-processor:production: no version 9 to go to \(it has 6, 7\)/);
    for (const half of [["FUNCTION=api"], ["VERSION=6"]]) {
      const usage = await fail(...half);
      expect(usage?.stdout, half[0]).toMatch(/usage: make rollback VERSION=<n> FUNCTION=processor\|api\|recorder/);
    }
    expect((await fail("VERSION=6", "FUNCTION=procesor"))?.stdout).toMatch(
      /FUNCTION=procesor: one of processor, api, recorder/,
    );
    expect(api.updates.length).toBe(before);
  }, 150_000);
});

/** `make rollback` for the functions <prefix>-processor, -api and -recorder, against the stand-in at `endpoint`. */
function makeRollback(endpoint: string, prefix: string, ...vars: string[]) {
  return promisify(execFile)(
    "make",
    [
      "--no-print-directory",
      "rollback",
      `PROCESSOR=${prefix}-processor`,
      `API=${prefix}-api`,
      `RECORDER=${prefix}-recorder`,
      ...vars,
    ],
    {
      cwd: root,
      encoding: "utf8",
      timeout: 120_000,
      env: {
        ...process.env,
        AWS_ENDPOINT_URL_LAMBDA: endpoint,
        AWS_ACCESS_KEY_ID: "test",
        AWS_SECRET_ACCESS_KEY: "test",
        AWS_PROFILE: "",
        AWS_CONFIG_FILE: "/nonexistent",
        AWS_SHARED_CREDENTIALS_FILE: "/nonexistent",
      },
    },
  );
}

describe("make rollback when a move fails half-way", () => {
  let api: Awaited<ReturnType<typeof startAliasApi>>;
  const fns: Record<string, FakeFunction> = {
    "hw-api": {
      alias: { version: "5", revision: 1 },
      versions: [
        [4, "2026-05-01T12:00:00.000+0000"],
        [5, "2026-05-01T13:00:00.000+0000"],
      ],
    },
    "hw-processor": {
      alias: { version: "7", revision: 1 },
      versions: [
        [6, "2026-05-01T12:00:05.000+0000"],
        [7, "2026-05-01T13:00:05.000+0000"],
      ],
    },
    "hw-recorder": {
      alias: { version: "3", revision: 1 },
      versions: [
        [2, "2026-05-01T12:00:01.000+0000"],
        [3, "2026-05-01T13:00:01.000+0000"],
      ],
      refuseUpdates: true,
    },
  };
  beforeAll(async () => {
    api = await startAliasApi(fns);
  });
  afterAll(async () => api?.close());

  it("puts back the aliases it had moved, so no function is left on another release", async () => {
    const err = await makeRollback(api.endpoint, "hw").then(
      () => undefined,
      (e: { stderr?: string; code?: number }) => e,
    );
    expect(err?.code).toBeGreaterThan(0);
    expect(err?.stderr).toMatch(/FAILED to move hw-recorder:production/);
    expect(err?.stderr).toMatch(/Put back hw-processor:production on 7\.[\s\S]*Put back hw-api:production on 5\./);
    expect(api.updates).toEqual([
      { functionName: "hw-api", version: "4" },
      { functionName: "hw-processor", version: "6" },
      { functionName: "hw-processor", version: "7" },
      { functionName: "hw-api", version: "5" },
    ]);
    expect([fns["hw-api"].alias.version, fns["hw-processor"].alias.version, fns["hw-recorder"].alias.version]).toEqual([
      "5",
      "7",
      "3",
    ]);
  }, 150_000);
});
