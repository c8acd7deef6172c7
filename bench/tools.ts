// The Debian baselines (vipsthumbnail, ImageMagick 6 convert, GraphicsMagick): installed with
// apt-get when missing; a column is skipped with a note if that fails.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { BINARIES } from "./baselines.js";
import type { Availability } from "./pipeline.js";

const PACKAGES: Record<keyof typeof BINARIES | "time", { bin: string; pkg: string }> = {
  vipsthumbnail: { bin: BINARIES.vipsthumbnail, pkg: "libvips-tools" },
  convert: { bin: BINARIES.convert, pkg: "imagemagick" },
  gm: { bin: BINARIES.gm, pkg: "graphicsmagick" },
  time: { bin: "/usr/bin/time", pkg: "time" },
};

function apt(args: string[]): { ok: boolean; why: string } {
  const asRoot = process.getuid?.() === 0;
  const aptArgs = ["-o", "DPkg::Lock::Timeout=120", ...args];
  const r = spawnSync(asRoot ? "apt-get" : "sudo", asRoot ? aptArgs : ["-n", "apt-get", ...aptArgs], {
    encoding: "utf8",
    env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
    timeout: 600_000,
  });
  const why = r.error?.message ?? (r.stderr || "").trim().split("\n").pop() ?? `exit ${r.status}`;
  return { ok: r.status === 0, why };
}

export function ensureBaselines(install: boolean, log: (s: string) => void): Availability {
  const missing = Object.entries(PACKAGES).filter(([, p]) => !existsSync(p.bin));
  if (missing.length && install) {
    const pkgs = missing.map(([, p]) => p.pkg);
    log(`installing ${pkgs.join(", ")} with apt-get (update first)...`);
    const u = apt(["update", "-q"]);
    const i = u.ok ? apt(["install", "-y", "-q", "--no-install-recommends", ...pkgs]) : u;
    if (!i.ok) log(`apt-get failed: ${i.why}`);
  }
  const out: Availability = {};
  const noTime = !existsSync(PACKAGES.time.bin);
  for (const tool of ["vipsthumbnail", "convert", "gm"] as const) {
    const p = PACKAGES[tool];
    if (!existsSync(p.bin))
      out[tool] = `${p.bin} missing (Debian package ${p.pkg}${install ? " could not be installed" : "; --no-install"})`;
    else if (noTime) out[tool] = "/usr/bin/time missing (Debian package time): cannot measure its peak RSS";
  }
  return out;
}
