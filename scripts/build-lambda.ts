// npm run build:lambda — the deployable zips:
//   build/lambda/api.zip, processor.zip     esbuild ESM bundles (index.mjs); sharp stays external,
//                                           it comes from the layer; processor.zip carries magick.wasm
//   build/lambda/sharp-layer-{x64,arm64}.zip  nodejs/node_modules/{sharp,@img/*} for linux glibc,
//                                           installed from the npm registry with --os/--cpu/--libc,
//                                           plus fonts/ (DejaVu Sans + fonts.conf): Lambda's runtime has
//                                           no fonts, and text overlays need one (FONTCONFIG_FILE)
// Options: --arch=x64|arm64|both (layers; default both), --skip-layers, --force-layers, --out=DIR
import { execFileSync, spawnSync } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { build } from "esbuild";
import { zipSync } from "fflate";

const SHARP_VERSION = "0.35.5";
const root = path.resolve(import.meta.dirname, "..");
const args = new Map(
  process.argv.slice(2).map((a) => {
    const [k, v] = a.replace(/^--/, "").split("=");
    return [k, v ?? "true"] as const;
  }),
);
const out = path.resolve(root, args.get("out") ?? "build/lambda");
const archs = (args.get("arch") ?? "both") === "both" ? ["x64", "arm64"] : [args.get("arch")!];

const mb = (n: number) => `${(n / 1024 / 1024).toFixed(2)} MB`;
const sizes: [string, number][] = [];

function dirSize(dir: string): number {
  let total = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    total += e.isDirectory() ? dirSize(p) : statSync(p).size;
  }
  return total;
}

/** Zip a directory's contents (paths relative to it): `zip` when installed, else fflate. */
function zipDir(dir: string, zipPath: string): void {
  rmSync(zipPath, { force: true });
  if (spawnSync("zip", ["-v"], { stdio: "ignore" }).status === 0) {
    execFileSync("zip", ["-q", "-r", "-X", "-9", "--symlinks", zipPath, "."], { cwd: dir });
  } else {
    const files: Record<string, Uint8Array> = {};
    const walk = (d: string) => {
      for (const e of readdirSync(d, { withFileTypes: true })) {
        const p = path.join(d, e.name);
        if (e.isDirectory()) walk(p);
        else files[path.relative(dir, p).split(path.sep).join("/")] = readFileSync(p);
      }
    };
    walk(dir);
    writeFileSync(zipPath, zipSync(files, { level: 9 }));
  }
  sizes.push([path.relative(root, zipPath), statSync(zipPath).size]);
}

async function bundle(name: "api" | "processor"): Promise<void> {
  const dir = path.join(out, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const result = await build({
    entryPoints: [path.join(root, `src/lambda/${name}.ts`)],
    outfile: path.join(dir, "index.mjs"),
    bundle: true,
    platform: "node",
    target: "node20",
    format: "esm",
    // sharp (native) comes from the layer; better-sqlite3 is the local store, never reached here.
    external: ["sharp", "better-sqlite3"],
    // CommonJS dependencies inside an ESM bundle still call require() for Node built-ins.
    banner: {
      js: "import { createRequire as __imgeditCreateRequire } from 'node:module'; const require = __imgeditCreateRequire(import.meta.url);",
    },
    minifySyntax: true,
    minifyWhitespace: true,
    keepNames: true,
    legalComments: "none",
    metafile: true,
    logLevel: "warning",
  });
  const web = path.join(root, "web/dist");
  if (name === "api" && existsSync(web)) {
    // The editor page, served by the API at / (the function URL's origin).
    cpSync(web, path.join(dir, "web"), { recursive: true });
  }
  if (name === "processor") {
    // The 32-bit-memory build: the memory64 one does not run on Node 20.
    const wasm = createRequire(import.meta.url).resolve("@imagemagick/magick-wasm/magick.wasm");
    cpSync(wasm, path.join(dir, "magick.wasm"));
  }
  const bytes = Object.values(result.metafile.outputs).reduce((n, o) => n + o.bytes, 0);
  sizes.push([`${path.relative(root, dir)}/index.mjs`, bytes]);
  zipDir(dir, path.join(out, `${name}.zip`));
}

/** Where layers are unpacked on Lambda; the processor's FONTCONFIG_FILE points into it. */
const FONT_DIR = "/opt/fonts";
const SYSTEM_FONTS = "/usr/share/fonts/truetype/dejavu";

function addFonts(dir: string): void {
  mkdirSync(dir, { recursive: true });
  for (const file of ["DejaVuSans.ttf", "DejaVuSans-Bold.ttf"]) {
    const from = path.join(SYSTEM_FONTS, file);
    if (!existsSync(from)) throw new Error(`${from} is missing: apt-get install fonts-dejavu-core`);
    cpSync(from, path.join(dir, file));
  }
  writeFileSync(
    path.join(dir, "fonts.conf"),
    `<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n<fontconfig>\n  <dir>${FONT_DIR}</dir>\n  <cachedir>/tmp/fontconfig-cache</cachedir>\n</fontconfig>\n`,
  );
}

function sharpLayer(arch: string): void {
  const zipPath = path.join(out, `sharp-layer-${arch}.zip`);
  if (existsSync(zipPath) && args.get("force-layers") !== "true") {
    console.log(`sharp layer ${arch}: ${path.relative(root, zipPath)} exists (--force-layers rebuilds it)`);
    sizes.push([path.relative(root, zipPath), statSync(zipPath).size]);
    return;
  }
  const tmp = mkdtempSync(path.join(os.tmpdir(), `imgedit-sharp-${arch}-`));
  try {
    const nodejs = path.join(tmp, "nodejs");
    mkdirSync(nodejs);
    writeFileSync(path.join(nodejs, "package.json"), JSON.stringify({ name: "sharp-layer", private: true }));
    console.log(`sharp layer ${arch}: npm install --os=linux --cpu=${arch} --libc=glibc sharp@${SHARP_VERSION}`);
    execFileSync(
      "npm",
      [
        "install",
        "--no-audit",
        "--no-fund",
        "--no-package-lock",
        "--omit=dev",
        "--os=linux",
        `--cpu=${arch}`,
        "--libc=glibc",
        `sharp@${SHARP_VERSION}`,
      ],
      { cwd: nodejs, stdio: ["ignore", "inherit", "inherit"] },
    );
    const binary = path.join(nodejs, "node_modules/@img", `sharp-linux-${arch}`);
    const vips = path.join(nodejs, "node_modules/@img", `sharp-libvips-linux-${arch}`);
    for (const p of [binary, vips]) if (!existsSync(p)) throw new Error(`sharp layer ${arch}: ${p} was not installed`);
    rmSync(path.join(nodejs, "package.json"));
    addFonts(path.join(tmp, "fonts"));
    sizes.push([`sharp layer ${arch} (unzipped)`, dirSize(tmp)]);
    zipDir(tmp, zipPath);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

mkdirSync(out, { recursive: true });
for (const name of ["api", "processor"] as const) {
  if (args.get("only") && args.get("only") !== name) continue;
  await bundle(name);
}
if (args.get("skip-layers") !== "true") for (const arch of archs) sharpLayer(arch);

console.log("\nbundle sizes:");
for (const [name, bytes] of sizes) console.log(`  ${name.padEnd(44)} ${mb(bytes).padStart(10)}`);
console.log("\nLambda limits: 50 MB zipped upload, 250 MB unzipped function + layers.");
