// What the numbers were measured on: printed with the tables and kept in latest.json.
import { execFileSync } from "node:child_process";
import os from "node:os";

export interface MachineInfo {
  date: string;
  cpuModel: string;
  cores: number;
  memoryMB: number;
  os: string;
  node: string;
  sharp?: string;
  libvips?: string;
  sharpConcurrency?: number;
  tools: Record<string, string>;
}

function version(cmd: string, args: string[]): string | undefined {
  try {
    const out = execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 5000 });
    return out
      .split("\n")
      .find((l) => l.trim())
      ?.trim();
  } catch {
    return undefined;
  }
}

export async function machineInfo(): Promise<MachineInfo> {
  const sharp = (await import("sharp")).default;
  const tools: Record<string, string> = {};
  const vips = version("vipsthumbnail", ["--vips-version"]);
  if (vips) tools.vipsthumbnail = vips;
  const im = version("/usr/bin/convert", ["-version"]);
  if (im) tools.convert = im.replace(/^Version:\s*/, "");
  const gm = version("gm", ["version"]);
  if (gm) tools.gm = gm;
  return {
    date: new Date().toISOString(),
    cpuModel: os.cpus()[0]?.model ?? "unknown",
    cores: os.availableParallelism?.() ?? os.cpus().length,
    memoryMB: Math.round(os.totalmem() / 1024 / 1024),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    sharp: sharp.versions.sharp,
    libvips: sharp.versions.vips,
    sharpConcurrency: sharp.concurrency(),
    tools,
  };
}

export function describeMachine(m: MachineInfo): string {
  return `${m.cpuModel}, ${m.cores} cores, ${m.memoryMB} MB RAM, ${m.os}, Node ${m.node}, sharp ${m.sharp} (libvips ${m.libvips}, sharp.concurrency ${m.sharpConcurrency}), ${m.date}`;
}
