// `imgedit edit`: apply one plan (JSON or plain English) to many images, in parallel, with a
// progress line per image (or a bar on a terminal) and a summary table.
import { createHash, randomBytes } from "node:crypto";
import { constants as fsConstants, rmSync } from "node:fs";
import {
  access,
  chmod,
  type FileHandle,
  link,
  lstat,
  open,
  readdir,
  readFile,
  realpath,
  rename,
  rm,
  stat,
} from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { ConfigError, loadConfig } from "../../config.js";
import { formatBytes, tooLargeMessage } from "../../core/bytes.js";
import { isImageEditError, toImageEditError } from "../../core/errors.js";
import { defaultOutputFormat, EXTENSIONS } from "../../core/formats.js";
import { type Limits, limitsFromConfig } from "../../core/limits.js";
import { describeOperation, type Plan } from "../../core/operations.js";
import { OUTPUT_FORMATS, type OutputFormat } from "../../core/ops/define.js";
import { FORMAT_OPTIONS } from "../../core/ops/output.js";
import type { ProcessResult } from "../../core/pipeline.js";
import { parseOptions } from "../args.js";
import { createAssetLoader } from "../assets.js";
import { CreatedDirs } from "../created-dirs.js";
import { CliFailure, errnoCode, notAFile, readProblem, reason } from "../fs-errors.js";
import type { CliCommand, CliIO } from "../main.js";
import { printable } from "../printable.js";

const usage = `
Usage: imgedit edit <inputs...> (--ops '<json plan>' | --command "<text>") --output <file|dir> [options]

Apply one edit to one or more images. Inputs are files, directories (their images) or quoted
globs with * and ? in the last part ("photos/*.jpg"; as in a shell, not matching a leading dot).

Options:
  --ops <json>          the plan: a JSON array, e.g. '[{"op":"resize","width":800},{"op":"format","format":"webp"}]'
  -c, --command <text>  the edit in plain English, e.g. "resize to 800px wide and convert to webp"
  -o, --output <path>   a file (one input; its extension is the format: .jpg .png .webp .avif .gif
                        .tif) or a directory (created if missing, and removed again if nothing was
                        written into it; several inputs need one; end the path with / for a
                        directory whose name has a dot). A bare extension (-o .webp) is refused:
                        convert with -f webp -o <dir>/
  -f, --format <fmt>    output format: jpeg, png, webp, avif, gif, tiff (default: the plan's, else
                        the input's); with an output file it must agree with the file's extension
  -q, --quality <1-100> lossy quality (default DEFAULT_QUALITY, 90)
      --keep-metadata   keep EXIF/XMP (stripped by default)
  -j, --concurrency <n> images processed at once (default: CPU count)
      --overwrite       replace existing output files (not read-only ones: chmod u+w them)
      --json            print the summary as JSON instead of a table
  -h, --help            this help

A watermark step's image is loaded once per run: an http(s) URL through the server's safe
fetcher with the same settings (private and loopback hosts only when listed in FETCH_ALLOW_HOSTS;
FETCH_TIMEOUT_MS, FETCH_MAX_REDIRECTS, MAX_IMAGE_SIZE), or a local file as file:///absolute/path.png.

Exit status: 0 all images written; 1 some image failed (the others are still written); 2 bad usage,
an invalid plan, or a command that was not understood (its unknown words and suggestions are printed).

Examples:
  imgedit edit photo.jpg --ops '[{"op":"resize","width":800}]' -o small.jpg
  imgedit edit "shots/*.png" --command "make it greyscale and add a 10px white border" -o out/
  imgedit edit shots/ --format webp --quality 80 -o web/
`;

export const IMAGE_EXTENSIONS = new Set([
  ".jpg",
  ".jpeg",
  ".jpe",
  ".png",
  ".webp",
  ".gif",
  ".tif",
  ".tiff",
  ".avif",
  ".heic",
  ".heif",
  ".svg",
]);

class UsageError extends Error {
  /** hint: false for a message that already says what to write instead. */
  constructor(
    message: string,
    readonly hint = true,
  ) {
    super(message);
  }
}

const COMMAND_MODULE: string = "../../core/command/index.js";
/** The command planner's contract (CONTRACTS.md). */
interface CommandParser {
  parseCommand(text: string):
    | { ok: true; plan: unknown; steps: string[] }
    | {
        ok: false;
        error: { code: string; message: string; unknown: { word: string }[]; suggestions: string[] };
      };
}

/** An input file, or an input that could not even be listed (reported as a failed row). */
interface Input {
  path: string;
  problem?: CliFailure;
  /** A directory or glob that gave no image. */
  empty?: boolean;
  /** A glob whose directory does not exist. */
  missing?: boolean;
}

interface Job {
  input: string;
  /** The output file when --output names one. */
  output?: string;
  /** Otherwise the output's name without extension (unique within the run). */
  stem?: string;
  problem?: CliFailure;
}

export interface Row {
  name: string;
  input: string;
  output?: string;
  inBytes?: number;
  outBytes?: number;
  width?: number;
  height?: number;
  pages?: number;
  format?: string;
  ms: number;
  status: "ok" | "failed";
  error?: { code: string; message: string };
}

const edit: CliCommand = {
  summary: "apply a plan or a plain-English edit to images",
  usage,
  async run(argv, io) {
    try {
      return await runEdit(argv, io);
    } catch (e) {
      if (e instanceof UsageError || e instanceof ConfigError) {
        io.stderr.write(`imgedit edit: ${printable(e.message)}\n`);
        if (e instanceof UsageError && e.hint) io.stderr.write("Run `imgedit edit --help` for usage.\n");
        return 2;
      }
      throw e;
    }
  },
};
export default edit;

async function runEdit(argv: string[], io: CliIO): Promise<number> {
  let args: ReturnType<typeof parse>;
  try {
    args = parse(argv);
  } catch (e) {
    throw new UsageError(e instanceof Error ? e.message : String(e));
  }
  const { values, positionals } = args;
  if (positionals.length === 0) throw new UsageError("give at least one input file, directory or glob");
  if (!values.output) throw new UsageError("--output is required (a file or a directory)");
  // "-" is standard output to most tools; here it would be a directory called "-", and the
  // summary table would land in the file the user redirected stdout to.
  if (values.output === "-" && !(await isDirectory("-")))
    throw new UsageError(
      "--output -: results are written to files, not to standard output; give a file (out.png) or a directory",
    );
  await refuseBareExtension(values.output);
  const config = loadConfig(io.env);
  const limits = limitsFromConfig(config);
  const format = values.format === undefined ? undefined : parseFormat(values.format);
  const quality = values.quality === undefined ? undefined : parseIntOption("--quality", values.quality, 1, 100);
  const concurrency =
    values.concurrency === undefined
      ? Math.max(1, os.availableParallelism?.() ?? os.cpus().length)
      : parseIntOption("--concurrency", values.concurrency, 1, 64);

  const plan = await buildPlan(values, format, limits, io);
  if (plan === undefined) return 2;
  // -f and -q are settings applied after the plan: one that contradicts the plan would win
  // without a word (a "compress" run written at -q 95, a "convert to png" written as JPEG).
  const stated = values.command !== undefined ? "the command" : "the plan";
  const planned = plannedFormat(plan);
  if (format && planned && format !== planned)
    throw new UsageError(`--format ${format} disagrees with ${stated}, which converts to ${planned}: give one of them`);
  const plannedQ = plannedQuality(plan);
  if (quality !== undefined && plannedQ !== undefined && quality !== plannedQ)
    throw new UsageError(
      `--quality ${quality} disagrees with ${stated}, which sets quality ${plannedQ}: give one of them`,
    );

  const inputs = await expandInputs(positionals);
  if (inputs.every((i) => i.empty)) {
    const missing = inputs.filter((i) => i.missing).map((i) => path.dirname(i.path));
    throw new UsageError(
      `no images found in ${positionals.join(", ")}${missing.length ? ` (no such directory: ${missing.join(", ")})` : ""}`,
    );
  }
  const jobs = await planOutputs(inputs, values.output, format ?? planned);
  // The safety net under planOutputs' names: no output is ever written over another input.
  const inputKeys = new Map(await Promise.all(jobs.map(async (j) => [await pathKey(j.input), j.input] as const)));
  // An output file's extension says what it is: out.webp is WebP; --format or the plan may not
  // say otherwise, and out.bmp (a format imgedit does not write) is refused.
  const file = jobs.find((j) => j.output)?.output;
  const outputFormat = file ? fileFormat(file, format, plan) : format;
  // -q with a PNG or GIF output would be ignored without a word (a plan's format step refuses it).
  const written = outputFormat ?? plannedFormat(plan);
  if (quality !== undefined && written && !(FORMAT_OPTIONS.quality as readonly string[]).includes(written))
    throw new UsageError(
      `--quality does nothing for ${written} output (${noQuality(written)}); it applies to ${FORMAT_OPTIONS.quality.join(", ")}`,
    );

  const { processImage } = await import("../../core/pipeline.js");
  // Watermarks: each distinct URL loaded once for the whole run, before the first image needs it.
  const assets = await createAssetLoader(plan, config);
  const progress = new Progress(io, jobs.length);
  const dirs = new CreatedDirs();
  const rows: Row[] = new Array(jobs.length);
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const i = next++;
      const job = jobs[i];
      const row = await editOne(
        job,
        values.output as string,
        async (input) => {
          await assets.ready();
          return processImage(input, plan, {
            limits,
            loadAsset: assets.load,
            outputFormat,
            quality,
            keepMetadata: values["keep-metadata"] ? true : undefined,
          });
        },
        { limits, overwrite: values.overwrite ?? false, inputs: inputKeys, dirs },
      );
      rows[i] = row;
      progress.done(row);
    }
  };
  const stopCleanUp = removeTempFilesOnSignal(() => dirs.removeEmptySync());
  try {
    await Promise.all(Array.from({ length: Math.min(concurrency, jobs.length) }, worker));
  } finally {
    stopCleanUp();
    // A failed run leaves no empty directory it made (`-o new/sub/out.png`, the write failed).
    await dirs.removeEmpty();
  }
  progress.finish();

  if (values.json) io.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
  else io.stdout.write(summaryTable(rows));
  return rows.some((r) => r.status === "failed") ? 1 : 0;
}

function parse(argv: string[]) {
  return parseOptions({
    args: argv,
    allowPositionals: true,
    options: {
      ops: { type: "string" },
      command: { type: "string", short: "c" },
      output: { type: "string", short: "o" },
      format: { type: "string", short: "f" },
      quality: { type: "string", short: "q" },
      concurrency: { type: "string", short: "j" },
      overwrite: { type: "boolean" },
      "keep-metadata": { type: "boolean" },
      json: { type: "boolean" },
    },
  });
}

async function isDirectory(file: string): Promise<boolean> {
  return stat(file).then(
    (s) => s.isDirectory(),
    () => false,
  );
}

/**
 * `-o .webp` would be a hidden directory named ".webp"; whoever wrote it almost certainly meant
 * "convert to webp". A trailing "/" or an existing directory of that name is still a directory.
 */
async function refuseBareExtension(output: string): Promise<void> {
  const base = path.basename(output);
  // ".cover.jpg" is a hidden file with an extension, written as before; ".jpg" alone has none
  if (/[/\\]$/.test(output) || !base.startsWith(".") || path.extname(base) !== "") return;
  const format = formatFromExtension(`x${base}`);
  if (!format || (await isDirectory(output))) return;
  const asDir = /[/\\]/.test(output) ? `${output}/` : `./${output}/`;
  throw new UsageError(
    `--output ${output} names a directory "${base}", not a format: to convert to ${format}, write -f ${format} -o <dir>/; if a directory of that name is meant, write -o ${asDir}`,
    false,
  );
}

function parseFormat(value: string): OutputFormat {
  const f = value.toLowerCase().replace(/^jpg$/, "jpeg").replace(/^tif$/, "tiff");
  if (!(OUTPUT_FORMATS as readonly string[]).includes(f))
    throw new UsageError(`--format ${value}: use one of ${OUTPUT_FORMATS.join(", ")}`);
  return f as OutputFormat;
}

function parseIntOption(name: string, value: string, min: number, max: number): number {
  // Decimal digits only: Number() also takes "0x50", "8e1" and " 80 ".
  const n = /^[0-9]+$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isInteger(n) || n < min || n > max)
    throw new UsageError(`${name} ${value}: a whole number ${min}-${max}`);
  return n;
}

/** The format a file's extension names: "jpg" and "jpe" are jpeg, "tif" tiff, "heic" heif. */
function extensionFormat(file: string): string {
  const ext = path.extname(file).slice(1).toLowerCase();
  return ext === "jpg" || ext === "jpe" ? "jpeg" : ext === "tif" ? "tiff" : ext === "heic" ? "heif" : ext;
}

function formatFromExtension(file: string): OutputFormat | undefined {
  const f = extensionFormat(file);
  return (OUTPUT_FORMATS as readonly string[]).includes(f) ? (f as OutputFormat) : undefined;
}

const NAME_EXTENSIONS: Record<OutputFormat, string> = {
  jpeg: ".jpg",
  png: ".png",
  webp: ".webp",
  avif: ".avif",
  gif: ".gif",
  tiff: ".tif",
};

/** The format the plan's last format step converts to. */
function plannedFormat(plan: Plan): OutputFormat | undefined {
  return ([...plan].reverse().find((op) => op.op === "format") as { format?: OutputFormat } | undefined)?.format;
}

/** The quality the plan's format steps leave (a later step without one keeps the earlier one's). */
function plannedQuality(plan: Plan): number | undefined {
  return (
    [...plan].reverse().find((op) => op.op === "format" && (op as { quality?: number }).quality !== undefined) as
      | { quality?: number }
      | undefined
  )?.quality;
}

/** The format of an output file: its extension's, which --format and the plan must agree with. */
function fileFormat(file: string, format: OutputFormat | undefined, plan: Plan): OutputFormat {
  const ext = path.extname(file);
  const named = formatFromExtension(file);
  if (!named)
    throw new UsageError(
      `--output ${file}: ${ext} is not a format imgedit writes; end the name in ${Object.values(NAME_EXTENSIONS).join(", ")} (or end the path with / for a directory)`,
    );
  const chosen = format ?? plannedFormat(plan);
  if (chosen && chosen !== named)
    throw new UsageError(
      `--output ${file} names a ${named} file, but ${format ? `--format is ${format}` : `the plan converts to ${chosen}`}: name it ${path.basename(file, ext)}${NAME_EXTENSIONS[chosen]} (or give a directory)`,
    );
  return named;
}

/** The plan from --ops or --command (or just --format); undefined after printing why not. */
async function buildPlan(
  values: { ops?: string; command?: string; output?: string; quality?: string },
  format: OutputFormat | undefined,
  limits: Limits,
  io: CliIO,
): Promise<Plan | undefined> {
  const { validatePlan } = await import("../../core/plan.js");
  if (values.ops !== undefined && values.command !== undefined)
    throw new UsageError("give --ops or --command, not both");
  if (values.ops !== undefined) {
    let json: unknown;
    try {
      json = JSON.parse(values.ops);
    } catch (e) {
      throw new UsageError(`--ops is not valid JSON: ${e instanceof Error ? e.message : String(e)}`);
    }
    try {
      return validatePlan(json, limits);
    } catch (e) {
      if (isImageEditError(e)) {
        // A watermark's url must be a URL; a local logo is a file: URL, which people rarely guess.
        const at = /^operations\[(\d+)\]\.url: /.exec(e.message);
        const url = at && Array.isArray(json) ? (json[Number(at[1])] as { url?: unknown } | undefined)?.url : undefined;
        const hint =
          typeof url === "string" && url !== "" && !url.includes(":")
            ? ` (a local file is a file: URL: ${pathToFileURL(path.resolve(url)).href})`
            : "";
        throw new UsageError(`--ops: ${e.message}${hint}`);
      }
      throw e;
    }
  }
  if (values.command !== undefined) {
    // Loaded lazily (and by a computed name): --ops must work even in a build without the planner.
    let parser: CommandParser;
    try {
      parser = (await import(COMMAND_MODULE)) as CommandParser;
    } catch {
      throw new UsageError("--command is not available in this build; use --ops");
    }
    const result = parser.parseCommand(values.command);
    if (!result.ok) {
      const { error } = result;
      io.stderr.write(`imgedit edit: ${printable(error.message)}\n`);
      if (error.unknown.length > 0)
        io.stderr.write(`  not understood: ${error.unknown.map((u) => `"${printable(u.word)}"`).join(", ")}\n`);
      if (error.suggestions.length > 0) io.stderr.write(`  try: ${printable(error.suggestions.join(" | "))}\n`);
      return undefined;
    }
    let plan: Plan;
    try {
      plan = validatePlan(result.plan, limits);
    } catch (e) {
      // More steps than MAX_OPERATIONS: the user's mistake, not a bug with a stack trace.
      if (isImageEditError(e)) throw new UsageError(`--command: ${e.message}`);
      throw e;
    }
    io.stderr.write(`Plan: ${printable(plan.map((op) => describeOperation(op)).join("; "))}\n`);
    return plan;
  }
  if (format) return validatePlan([{ op: "format", format }], limits);
  // `-o photo.webp` or `-q 60` alone change nothing by themselves: say what would.
  const example = (values.output && formatFromExtension(values.output)) ?? "webp";
  // The example must itself be accepted: --quality is refused for PNG and GIF output.
  const quality =
    values.quality === undefined
      ? ""
      : (FORMAT_OPTIONS.quality as readonly string[]).includes(example)
        ? ` --quality ${values.quality}`
        : `, without --quality: ${noQuality(example)}`;
  throw new UsageError(
    `say what to do: --ops '<json plan>', --command "<text>" or --format (e.g. --format ${example}${quality})`,
  );
}

/** Why --quality means nothing for a PNG or GIF output. */
function noQuality(format: string): string {
  return format === "png" ? "png is always lossless" : `${format} has no quality setting`;
}

/**
 * Files, directories (their images, not recursive) and globs in the last path segment. A directory
 * that cannot be listed is an input of its own that fails, so the other inputs still get done.
 */
export async function expandInputs(patterns: string[]): Promise<Input[]> {
  const out: Input[] = [];
  const cannotList = (input: string, dir: string, e: unknown): Input => {
    const code = errnoCode(e);
    const failure =
      code === "EACCES" || code === "EPERM"
        ? new CliFailure("PERMISSION_DENIED", `cannot list ${dir}: permission denied`)
        : new CliFailure("READ_FAILED", `cannot list ${dir}: ${reason(e)}`);
    return { path: input, problem: failure };
  };
  for (const pattern of patterns) {
    const base = path.basename(pattern);
    if (/[*?]/.test(base)) {
      const dir = path.dirname(pattern);
      if (/[*?]/.test(dir)) throw new UsageError(`${pattern}: wildcards work only in the last part of a path`);
      const re = globToRegExp(base);
      let names: string[];
      try {
        names = await readdir(dir);
      } catch (e) {
        // As a missing file: a failed row, and the other inputs are still done.
        const code = errnoCode(e);
        if (code === "ENOENT" || code === "ENOTDIR") {
          const why = code === "ENOENT" ? `no such directory ${dir}` : `${dir} is not a directory`;
          out.push({ ...nothingIn(pattern, `${pattern}: ${why}`), missing: code === "ENOENT" });
          continue;
        }
        out.push(cannotList(pattern, dir, e));
        continue;
      }
      const before = out.length;
      for (const n of names.filter((n) => re.test(n)).sort()) {
        const full = path.join(dir, n);
        // What cannot even be stat'ed (a broken link, no permission) is reported on its own row.
        const info = await stat(full).catch(() => undefined);
        if (!info || info.isFile()) out.push({ path: full });
      }
      // A glob that matches nothing is a row of its own: "shots/*.JPG" beside other inputs would
      // otherwise be dropped without a word (and the run reported as complete).
      if (out.length === before) out.push(nothingIn(pattern, `no file matches ${pattern}`));
      continue;
    }
    const info = await stat(pattern).catch(() => undefined);
    if (info?.isDirectory()) {
      let names: string[];
      try {
        names = (await readdir(pattern)).sort();
      } catch (e) {
        out.push(cannotList(pattern, pattern, e));
        continue;
      }
      const before = out.length;
      for (const n of names) {
        if (!IMAGE_EXTENSIONS.has(path.extname(n).toLowerCase())) continue;
        const full = path.join(pattern, n);
        const entry = await stat(full).catch(() => undefined);
        if (!entry || entry.isFile()) out.push({ path: full });
      }
      if (out.length === before)
        out.push(nothingIn(pattern, `no images in ${pattern} (files named .jpg, .png, .webp, .gif, .tif, .avif ...)`));
    } else {
      if (!info && pattern === "-")
        throw new UsageError("-: images are read from files, not from standard input; give a file name");
      // "*/photo.jpg" names no file: the shell left it alone, and neither do we.
      if (!info && /[*?]/.test(path.dirname(pattern)))
        throw new UsageError(`${pattern}: wildcards work only in the last part of a path`);
      // Missing files are reported as failed rows, so the other images still get done.
      out.push({ path: pattern });
    }
  }
  const seen = new Set<string>();
  return out.filter((i) => {
    const key = path.resolve(i.path);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** A directory or glob that gave no image: a failed row, or bad usage when it is all there is. */
function nothingIn(pattern: string, message: string): Input {
  return { path: pattern, problem: new CliFailure("NOT_FOUND", message), empty: true };
}

function globToRegExp(glob: string): RegExp {
  const escaped = glob
    .replace(/[.+^${}()|[\]\\]/g, "\\$&")
    .replace(/\*/g, ".*")
    .replace(/\?/g, ".");
  // As in a shell, a leading dot is matched only by a dot: "*" skips .hidden.png, ".*" finds it.
  return new RegExp(`^${glob.startsWith(".") ? "" : "(?!\\.)"}${escaped}$`);
}

/**
 * One input + --output with an extension = that file; otherwise a directory of <name>.<ext>, where
 * every name is unique within the run.
 */
async function planOutputs(inputs: Input[], output: string, format: OutputFormat | undefined): Promise<Job[]> {
  let existing: Awaited<ReturnType<typeof stat>> | undefined;
  try {
    existing = await stat(output);
  } catch (e) {
    const code = errnoCode(e);
    if (code === "ENOTDIR") {
      // "out.jpg/" or "out.jpg/sub/" with out.jpg a file: say so now, not after every image's work.
      const file = await fileInPath(output);
      if (file) throw new UsageError(`--output ${output}: ${file} is a file, not a directory`);
    } else if (code !== "ENOENT") throw new UsageError(`--output ${output}: ${reason(e)}`);
  }
  const asDirectory = existing?.isDirectory() || /[/\\]$/.test(output);
  // An empty directory or glob is a failed row; it neither counts as an input nor takes a name.
  const images = inputs.filter((i) => !i.empty);
  const keepOrder = (jobs: Job[]): Job[] => {
    const byInput = new Map(images.map((image, i) => [image, jobs[i]]));
    return inputs.map((i) => byInput.get(i) ?? { input: i.path, problem: i.problem });
  };
  if (!asDirectory && path.extname(output) !== "") {
    if (images.length === 1) return keepOrder([{ input: images[0].path, output, problem: images[0].problem }]);
    if (existing) throw new UsageError(`--output ${output} is a file; with several inputs it must be a directory`);
    throw new UsageError(
      `--output ${output} looks like a file name, but ${images.length} inputs need a directory: give a directory (end the path with / to create one named ${path.basename(output)})`,
    );
  }
  if (existing && !existing.isDirectory())
    throw new UsageError(
      images.length > 1
        ? `--output ${output} is a file; with several inputs it must be a directory`
        : `--output ${output} is a file without an extension: name the output after its format (e.g. ${output}.png) or give a directory`,
    );
  const stems = uniqueStems(images, await outputIsOtherInput(images, output, format));
  return keepOrder(stems.map((stem, i) => ({ input: images[i].path, stem, problem: images[i].problem })));
}

/** A path to compare by: its directory's real path (a link, "./a" or "a/../a"), case folded. */
async function pathKey(file: string): Promise<string> {
  const dir = await realpath(path.dirname(file)).catch(() => path.resolve(path.dirname(file)));
  return path.join(dir, path.basename(file)).toLowerCase();
}

/** An input's format as its name says it (defaultOutputFormat maps it to its output's). */
function inputFormatOf(file: string): string | undefined {
  return IMAGE_EXTENSIONS.has(path.extname(file).toLowerCase()) ? extensionFormat(file) : undefined;
}

/**
 * For uniqueStems: whether input i's output named <stem> in the output directory would be another
 * input's file (converting a folder into itself: with --overwrite, x.jpg -> x.png would replace the
 * input x.png, perhaps before it is read). The output's extension is --format's or the plan's, else
 * the input's own format's; every extension when its name does not say.
 */
async function outputIsOtherInput(
  images: Input[],
  output: string,
  format: OutputFormat | undefined,
): Promise<(index: number, stem: string) => boolean> {
  const owners = new Map<string, number>();
  for (const [i, image] of images.entries()) owners.set(await pathKey(image.path), i);
  const dir = await realpath(output).catch(() => path.resolve(output));
  const exts = images.map((image) => {
    const f = format ?? inputFormatOf(image.path);
    return f ? [EXTENSIONS[defaultOutputFormat(f)]] : Object.values(EXTENSIONS);
  });
  return (i, stem) =>
    exts[i].some((ext) => {
      const owner = owners.get(path.join(dir, `${stem}.${ext}`).toLowerCase());
      return owner !== undefined && owner !== i;
    });
}

/** The first part of `target` (itself included) that exists and is not a directory. */
async function fileInPath(target: string): Promise<string | undefined> {
  let candidate = target.replace(/[/\\]+$/, "");
  while (candidate !== "" && candidate !== path.dirname(candidate)) {
    const info = await stat(candidate).catch(() => undefined);
    if (info) return info.isDirectory() ? undefined : candidate;
    candidate = path.dirname(candidate);
  }
  return undefined;
}

/**
 * Output names without extension: each input keeps its own name if no earlier input took it;
 * the others get the first free <name>-2, <name>-3... Every name is reserved before any is handed
 * out, so a numbered x-2 never lands on an input that is itself called x-2. Case is ignored (two
 * names differing only in case are the same file on macOS and Windows). A name whose output would
 * be another input's file (`isOtherInput`) is never used: that input gets the next free name.
 */
export function uniqueStems(
  inputs: { path: string }[],
  isOtherInput: (index: number, stem: string) => boolean = () => false,
): string[] {
  const stemOf = (file: string) => path.basename(file, path.extname(file));
  const taken = new Set<string>();
  const stems = inputs.map((input, i) => {
    const stem = stemOf(input.path);
    if (taken.has(stem.toLowerCase()) || isOtherInput(i, stem)) return undefined;
    taken.add(stem.toLowerCase());
    return stem;
  });
  return stems.map((stem, i) => {
    if (stem !== undefined) return stem;
    const base = stemOf(inputs[i].path);
    let n = 2;
    while (taken.has(`${base}-${n}`.toLowerCase()) || isOtherInput(i, `${base}-${n}`)) n++;
    taken.add(`${base}-${n}`.toLowerCase());
    return `${base}-${n}`;
  });
}

async function editOne(
  job: Job,
  outDir: string,
  processFn: (input: Buffer) => Promise<ProcessResult>,
  opts: { limits: Limits; overwrite: boolean; inputs: Map<string, string>; dirs: CreatedDirs },
): Promise<Row> {
  const started = Date.now();
  const row: Row = { name: path.basename(job.input), input: job.input, ms: 0, status: "ok" };
  try {
    if (job.problem) throw job.problem;
    const info = await stat(job.input).catch(async (e: unknown) => {
      throw await readProblem(job.input, e);
    });
    if (!info.isFile()) throw notAFile(job.input, info.isDirectory());
    row.inBytes = info.size;
    if (info.size > opts.limits.maxImageBytes) {
      // Never read a file we are going to refuse anyway.
      throw new CliFailure("IMAGE_TOO_LARGE", tooLargeMessage(info.size, opts.limits.maxImageBytes));
    }
    const input = await readFile(job.input).catch(async (e: unknown) => {
      throw await readProblem(job.input, e);
    });
    const result = await processFn(input);
    const target = job.output ?? path.join(outDir, `${job.stem}.${result.ext}`);
    await opts.dirs.create(path.dirname(target)).catch((e: unknown) => {
      throw new CliFailure("WRITE_FAILED", `cannot create ${path.dirname(target)}: ${reason(e)}`);
    });
    // Only when an input's name lies about its format (x.png holding a JPEG beside an input x.jpg).
    const owner = opts.inputs.get(await pathKey(target));
    if (owner !== undefined && owner !== job.input)
      throw new CliFailure("EXISTS", `${target} is another input of this run (${owner}); it was not written over`);
    await writeAtomically(target, result.data, opts.overwrite).catch(async (e: unknown) => {
      if (e instanceof CliFailure) throw e;
      if (errnoCode(e) === "EEXIST") throw await existsFailure(target);
      throw new CliFailure("WRITE_FAILED", `cannot write ${target}: ${reason(e)}`);
    });
    Object.assign(row, {
      output: target,
      outBytes: result.bytes,
      width: result.width,
      height: result.height,
      pages: result.pages,
      format: result.format,
    });
  } catch (e) {
    row.status = "failed";
    row.error =
      e instanceof CliFailure
        ? { code: e.code, message: e.message }
        : toImageEditError(e, "PROCESSING_FAILED").toJSON();
  }
  row.ms = Date.now() - started;
  return row;
}

/** An output that exists; saying so now if --overwrite would not replace it either. */
async function existsFailure(target: string): Promise<CliFailure> {
  const st = await stat(target).catch(() => undefined);
  const readOnly = st?.isFile() ? await readOnlyFor(target, st) : undefined;
  return new CliFailure(
    "EXISTS",
    readOnly
      ? `${target} exists and ${readOnly.what}: not replaced${readOnly.hint}`
      : `${target} exists (use --overwrite)`,
  );
}

/**
 * Why this user may not replace `target` (undefined if they may): the rename of an atomic write
 * would replace a file the user cannot write, where cp refuses. For root, who may write anything,
 * a file with no write bit at all counts as read-only.
 */
async function readOnlyFor(
  target: string,
  st: { mode: number; uid: number },
): Promise<{ what: string; hint: string } | undefined> {
  const uid = process.getuid?.();
  const writable =
    uid === 0
      ? (st.mode & 0o222) !== 0
      : await access(target, fsConstants.W_OK).then(
          () => true,
          () => false,
        );
  if (writable) return undefined;
  return st.uid === uid
    ? { what: "is read-only", hint: ` (chmod u+w ${target} makes it writable)` }
    : { what: "is not writable by you (it belongs to another user)", hint: "" };
}

/**
 * Write `target` all at once or not at all: the bytes go to a temporary file beside it, flushed to
 * disk, then renamed over it (with overwrite) or hard-linked to its name (without: the link fails
 * if the name exists, even if another process has just taken it). A failed write (a full disk)
 * leaves no partial file and never touches what was there, not even when the output is the input.
 * A read-only file is not replaced (as cp refuses it), though the rename would replace it.
 */
export async function writeAtomically(target: string, data: Uint8Array, overwrite: boolean): Promise<void> {
  const before = overwrite ? await stat(target).catch(() => undefined) : undefined;
  const readOnly = before?.isFile() ? await readOnlyFor(target, before) : undefined;
  if (readOnly)
    throw new CliFailure("PERMISSION_DENIED", `${target} ${readOnly.what}, so it was not replaced${readOnly.hint}`);
  const temp = path.join(path.dirname(target), tempName(path.basename(target)));
  let handle: FileHandle | undefined;
  inFlight.add(temp);
  try {
    handle = await open(temp, "wx");
    await handle.writeFile(data);
    // A delayed-allocation file system may report ENOSPC only here: before the rename, not after.
    await handle.sync();
    await handle.close();
    handle = undefined;
    if (overwrite) {
      // A replaced file keeps its permissions.
      if (before?.isFile()) await chmod(temp, before.mode & 0o7777);
      await rename(temp, target);
      return;
    }
    try {
      await link(temp, target);
    } catch (e) {
      const code = errnoCode(e) ?? "";
      if (!["EPERM", "ENOTSUP", "EOPNOTSUPP", "ENOSYS"].includes(code)) throw e;
      // No hard links on this file system: check, then rename (a small race, as with any tool).
      const taken = await lstat(target).then(
        () => true,
        () => false,
      );
      if (taken) throw Object.assign(new Error(`${target} exists`), { code: "EEXIST" });
      await rename(temp, target);
      return;
    }
    await rm(temp, { force: true });
  } catch (e) {
    await handle?.close().catch(() => {});
    await rm(temp, { force: true }).catch(() => {});
    throw e;
  } finally {
    inFlight.delete(temp);
  }
}

/** Longest file name most file systems take, in bytes. */
const NAME_MAX = 255;

/**
 * `.<name>.<pid>-<random>.tmp`, within NAME_MAX bytes: for a long (legal) output name the name part
 * is cut, at a character, and a hash of the whole name kept, so any name that can be written can be
 * written through its temporary file.
 */
export function tempName(name: string): string {
  const tail = `.${process.pid}-${randomBytes(4).toString("hex")}.tmp`;
  if (Buffer.byteLength(`.${name}${tail}`) <= NAME_MAX) return `.${name}${tail}`;
  const hash = `~${createHash("sha256").update(name).digest("hex").slice(0, 8)}`;
  let room = NAME_MAX - Buffer.byteLength(`.${hash}${tail}`);
  let cut = "";
  for (const c of name) {
    room -= Buffer.byteLength(c);
    if (room < 0) break;
    cut += c;
  }
  return `.${cut}${hash}${tail}`;
}

/** The temporary files being written now, for removeTempFilesOnSignal. */
const inFlight = new Set<string>();

/**
 * Until the returned function is called: Ctrl-C (SIGINT) or SIGTERM first removes the temporary
 * files being written (else they stay behind, hidden), then raises the signal again with the
 * default action restored, so the process still ends as killed by it (exit status 130, 143).
 */
export function removeTempFilesOnSignal(alsoSync?: () => void): () => void {
  const signals = ["SIGINT", "SIGTERM"] as const;
  const stop = () => {
    for (const s of signals) process.off(s, handler);
  };
  const handler = (signal: NodeJS.Signals) => {
    for (const temp of inFlight) {
      try {
        rmSync(temp, { force: true });
      } catch {
        // what cannot be removed stays; the signal still ends the run
      }
    }
    alsoSync?.(); // e.g. the directories the run made, now empty
    stop();
    process.kill(process.pid, signal);
  };
  for (const s of signals) process.on(s, handler);
  return stop;
}

/** A bar on a terminal, else one line per finished image (logs stay readable). */
class Progress {
  private finished = 0;
  private failed = 0;
  private readonly tty: boolean;
  constructor(
    private readonly io: CliIO,
    private readonly total: number,
  ) {
    this.tty = Boolean((io.stderr as NodeJS.WriteStream).isTTY);
    if (this.tty) this.draw("");
  }

  private draw(name: string): void {
    const width = 30;
    const filled = Math.round((this.finished / this.total) * width);
    const bar = `${"█".repeat(filled)}${"░".repeat(width - filled)}`;
    const failed = this.failed ? `, ${this.failed} failed` : "";
    this.io.stderr.write(`\r\x1b[2K${bar} ${this.finished}/${this.total}${failed}  ${printable(name)}`);
  }

  done(row: Row): void {
    this.finished++;
    if (row.status === "failed") this.failed++;
    if (this.tty) {
      this.draw(row.name);
    } else {
      const where = `[${this.finished}/${this.total}]`;
      this.io.stderr.write(
        printable(
          row.status === "ok"
            ? `${where} ok     ${row.name} -> ${row.output} (${row.ms} ms)`
            : `${where} failed ${row.name}: ${row.error?.code} ${row.error?.message}`,
        ) + "\n",
      );
    }
  }

  finish(): void {
    if (this.tty) this.io.stderr.write("\n");
  }
}

const size = (n: number | undefined) => (n === undefined ? "-" : formatBytes(n));

/**
 * One row per image: where its result went (on a terminal the progress bar never says, and in a
 * directory a name may have become name-2), sizes with units, and the error of a failed one.
 */
export function summaryTable(rows: Row[]): string {
  const head = ["name", "output", "in", "out", "dims", "format", "ms", "status"];
  const left = new Set([0, 1, 5]);
  const body = rows.map((r) =>
    [
      r.name,
      r.output ?? "-",
      size(r.inBytes),
      size(r.outBytes),
      r.width ? `${r.width}x${r.height}${r.pages && r.pages > 1 ? `, ${r.pages} frames` : ""}` : "-",
      r.format ?? "-",
      String(r.ms),
      r.status === "ok" ? "ok" : `FAILED ${r.error?.code}: ${r.error?.message}`,
    ].map(printable),
  );
  const last = head.length - 1;
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => (i === last ? 0 : b[i].length))));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === last ? c : left.has(i) ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ");
  const ok = rows.filter((r) => r.status === "ok").length;
  const totals = `${ok} of ${rows.length} written${rows.length - ok ? `, ${rows.length - ok} failed` : ""}`;
  return `${[line(head), ...body.map(line)].join("\n")}\n${totals}\n`;
}
