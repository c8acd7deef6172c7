// `make rollback`: moves every function alias the stack defines back together, so a rollback never
// leaves a mixed deployment (the processor on old code, its failure recorder or the API on new).
// The aliases come from the stack itself: infra/app.ts synthesised with the Makefile's context,
// as the CDK CLI runs it. Version numbers differ per function, so "back" is by time: by default
// each function the last release published goes to the version it had before that release (the
// others stay); BEFORE=<time> puts every function on its newest version published before then.
//
// `make rollback VERSION=<n> FUNCTION=<f>` still moves one alias to a version, as the deployment
// guide's rollback does, and says which aliases stay.
//
//   tsx scripts/rollback.ts [-c name=value ...] [--region R] [--before TIME | --only FUNCTION VERSION] [--dry-run]
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import {
  GetAliasCommand,
  LambdaClient,
  ListVersionsByFunctionCommand,
  UpdateAliasCommand,
} from "@aws-sdk/client-lambda";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

export interface StackAlias {
  functionName: string;
  aliasName: string;
}

export interface AliasState extends StackAlias {
  /** The version the alias points at now. */
  current: string;
  revisionId?: string;
  /** Published versions (not $LATEST), with when each was published (epoch ms). */
  versions: { version: string; published: number }[];
}

/** One alias's decision; `to === from` when it stays. */
export interface Move extends StackAlias {
  from: string;
  to: string;
  /** When `to` was published. */
  published: number;
  /** The alias as read: moving it is conditional on it (a deploy meanwhile stops the rollback). */
  revisionId?: string;
  /** Why it stays although the release published it (no older version to go to). */
  note?: string;
}

/**
 * Versions of one release are published minutes apart at most (a deploy publishes the recorder's,
 * the processor's, then the API's); two releases this close are taken as one.
 */
export const RELEASE_GAP_MS = 10 * 60_000;

// biome-ignore lint/suspicious/noExplicitAny: synthesised templates are read loosely
type Json = Record<string, any>;

/** Every function alias a synthesised template defines, by its function's name. */
export function aliasesOf(template: Json): StackAlias[] {
  const resources = template.Resources as Record<string, Json>;
  return Object.entries(resources)
    .filter(([, r]) => r.Type === "AWS::Lambda::Alias")
    .map(([id, r]) => {
      const fn = resources[r.Properties.FunctionName?.Ref];
      const functionName = fn?.Properties?.FunctionName;
      if (typeof functionName !== "string") throw new Error(`alias ${id}: its function has no fixed name`);
      return { functionName, aliasName: String(r.Properties.Name) };
    })
    .sort((a, b) => a.functionName.localeCompare(b.functionName));
}

/**
 * Where each alias goes. `before` given: every alias whose version was published at or after it
 * goes to its newest older version published before it. Otherwise `before` is the start of the
 * last release: the newest alias version and those published within RELEASE_GAP_MS of each other
 * back from it. Refuses (nothing moves) when an alias that should move has no version to go to.
 */
export function planRollback(states: AliasState[], before?: number): { before: number; moves: Move[] } {
  const publishedOf = (s: AliasState, v: string) => {
    const found = s.versions.find((x) => x.version === v);
    if (!found) throw new Error(`${s.functionName}:${s.aliasName} points at version ${v}, which is not listed`);
    return found.published;
  };
  if (states.length === 0) throw new Error("the stack defines no function alias");
  let start = before;
  if (start === undefined) {
    const times = states.map((s) => publishedOf(s, s.current)).sort((a, b) => b - a);
    start = times[0];
    for (const t of times.slice(1)) if (start - t <= RELEASE_GAP_MS) start = t;
  }
  const moves = states.map((s): Move => {
    const published = publishedOf(s, s.current);
    const stay = { ...pick(s), from: s.current, to: s.current, published, revisionId: s.revisionId };
    if (published < start) return stay;
    const older = s.versions
      .filter((v) => Number(v.version) < Number(s.current) && v.published < start)
      .sort((a, b) => Number(b.version) - Number(a.version))[0];
    // A function new in that release (the failure recorder got versions only lately) has nothing
    // to go back to: it stays, said aloud, rather than keeping the others on the release too.
    if (!older) return { ...stay, note: `no version published before ${iso(start)} to go back to` };
    return { ...stay, to: older.version, published: older.published };
  });
  return { before: start, moves };
}

const pick = (s: StackAlias): StackAlias => ({ functionName: s.functionName, aliasName: s.aliasName });
const iso = (ms: number) => new Date(ms).toISOString();
/** Lambda's LastModified: 2026-05-01T12:00:00.000+0000. */
const lambdaTime = (t: string) => Date.parse(t.replace(/([+-]\d{2})(\d{2})$/, "$1:$2"));

/** The one move of `make rollback VERSION=<n> FUNCTION=<f>`: that alias to that version, the others stay. */
export function planOne(s: AliasState, version: string): Move {
  const v = s.versions.find((x) => x.version === version);
  if (!v)
    throw new Error(
      `${label(s)}: no version ${version} to go to (it has ${s.versions.map((x) => x.version).join(", ") || "none"})`,
    );
  return { ...pick(s), from: s.current, to: version, published: v.published, revisionId: s.revisionId };
}

/** The stack's template as `cdk synth` makes it: infra/app.ts run with this context. */
export async function synthTemplate(context: Record<string, string>): Promise<Json> {
  const out = mkdtempSync(path.join(os.tmpdir(), "imgedit-rollback-"));
  try {
    // Only the aliases are read: the placeholder code does, and nothing is staged.
    const ctx: Record<string, string> = { buildDir: path.join(out, "no-build"), ...context };
    await promisify(execFile)(process.execPath, ["--import", "tsx", path.join(root, "infra/app.ts")], {
      cwd: root,
      env: { ...process.env, CDK_OUTDIR: out, CDK_CONTEXT_JSON: JSON.stringify(ctx) },
      timeout: 120_000,
    });
    return JSON.parse(readFileSync(path.join(out, `${ctx.stackName ?? "ImgeditStack"}.template.json`), "utf8"));
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

async function readState(client: LambdaClient, a: StackAlias): Promise<AliasState> {
  const alias = await client.send(new GetAliasCommand({ FunctionName: a.functionName, Name: a.aliasName }));
  const versions: AliasState["versions"] = [];
  let marker: string | undefined;
  do {
    const page = await client.send(new ListVersionsByFunctionCommand({ FunctionName: a.functionName, Marker: marker }));
    for (const v of page.Versions ?? [])
      if (v.Version && v.Version !== "$LATEST")
        versions.push({ version: v.Version, published: lambdaTime(v.LastModified ?? "") });
    marker = page.NextMarker;
  } while (marker);
  return { ...a, current: String(alias.FunctionVersion), revisionId: alias.RevisionId, versions };
}

const label = (m: StackAlias) => `${m.functionName}:${m.aliasName}`;
const describeMove = (m: Move) =>
  `${label(m)} ${m.to === m.from ? "stays on " : `${m.from} -> `}${m.to} (published ${iso(m.published)}${m.note ? `; ${m.note}` : ""})`;

function parseArgs(argv: string[]) {
  const context: Record<string, string> = {};
  let region: string | undefined;
  let before: number | undefined;
  let dryRun = false;
  let only: { functionName: string; version: string } | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "-c" || a === "--context") {
      const [k, ...v] = (argv[++i] ?? "").split("=");
      context[k] = v.join("=");
    } else if (a === "--region") region = argv[++i];
    else if (a === "--before") {
      before = Date.parse(argv[++i] ?? "");
      if (Number.isNaN(before)) throw new Error(`--before ${argv[i]}: not a time (e.g. 2026-05-01T14:00:00Z)`);
    } else if (a === "--dry-run") dryRun = true;
    else if (a === "--only") {
      // --only <function name> <version>: the guide's one-alias rollback
      const [functionName, version] = [argv[++i], argv[++i]];
      if (!functionName || !/^\d+$/.test(version ?? ""))
        throw new Error("--only needs a function name and a version number");
      only = { functionName, version };
    } else throw new Error(`unknown argument ${a}`);
  }
  return { context, region: region ?? context.region, before, dryRun, only };
}

/** Points an alias at a version (conditional on the alias as read, when its revision is given). */
function point(client: LambdaClient, a: StackAlias, version: string, revisionId?: string) {
  return client.send(
    new UpdateAliasCommand({
      FunctionName: a.functionName,
      Name: a.aliasName,
      FunctionVersion: version,
      RevisionId: revisionId,
    }),
  );
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const aliases = aliasesOf(await synthTemplate(args.context));
  console.log(`==> The stack's aliases: ${aliases.map(label).join(", ")}`);
  const client = new LambdaClient({ region: args.region });
  let plan: { moves: Move[] };
  if (args.only) {
    const { functionName, version } = args.only;
    const alias = aliases.find((a) => a.functionName === functionName);
    if (!alias) throw new Error(`${functionName} has no alias in the stack`);
    plan = { moves: [planOne(await readState(client, alias), version)] };
    const others = aliases.filter((a) => a !== alias).map(label);
    console.log(`==> Only ${label(alias)} moves; ${others.join(", ") || "no other alias"} stay where they are:`);
  } else {
    const all = planRollback(await Promise.all(aliases.map((a) => readState(client, a))), args.before);
    plan = all;
    console.log(`==> Back to the versions published before ${iso(all.before)}:`);
  }
  const moving = plan.moves.filter((m) => m.to !== m.from);
  for (const m of plan.moves) console.log(`    ${describeMove(m)}`);
  if (moving.length === 0) return console.log("Nothing to move.");
  if (args.dryRun) return console.log("Dry run: nothing moved.");
  const moved: Move[] = [];
  for (const m of moving) {
    try {
      await point(client, m, m.to, m.revisionId);
      moved.push(m);
      console.log(`OK ${describeMove(m)}`);
    } catch (e) {
      console.error(`FAILED to move ${label(m)}: ${e instanceof Error ? e.message : String(e)}`);
      // Half a rollback is a mixed deployment: put back what moved, so every function stays on one release.
      for (const done of moved.reverse()) {
        try {
          await point(client, done, done.from);
          console.error(`Put back ${label(done)} on ${done.from}.`);
        } catch (e2) {
          console.error(`FAILED to put back ${label(done)} on ${done.from} (move it by hand): ${String(e2)}`);
        }
      }
      process.exitCode = 1;
      return;
    }
  }
  console.log(`OK rolled back${args.only ? "" : " together"}: ${plan.moves.map(describeMove).join("; ")}.`);
  console.log("It lasts until a 'make deploy' that publishes new versions of these functions.");
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((e: unknown) => {
    console.error(`rollback: ${e instanceof Error ? e.message : String(e)}`);
    process.exitCode = 1;
  });
}
