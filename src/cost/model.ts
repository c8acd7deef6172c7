// The monthly AWS cost of running imgedit, line by line as in the deployment guide's table, from
// a price table (./prices.ts) and a workload: the guide's assumptions, or figures measured by the
// benchmark (bench/results/latest.json).
import type { PriceTable } from "./prices.js";

export const DAYS_PER_MONTH = 30;
/** Lambda gives a function one full vCPU at 1769 MB, and CPU in proportion to memory below that. */
export const LAMBDA_MB_PER_VCPU = 1769;

export interface Workload {
  imagesPerDay: number;
  processor: { memoryMB: number; secondsPerImage: number; invocationsPerImage: number };
  api: { memoryMB: number; secondsPerImage: number; invocationsPerImage: number };
  dynamodb: { writesPerImage: number; readsPerImage: number };
  s3: { storageGB: number; putsPerImage: number; getsPerImage: number };
  transferOutGB: number;
}

export type LineKey = "processor" | "api" | "dynamodb" | "s3Storage" | "s3Requests" | "transfer";

export interface CostLine {
  key: LineKey;
  resource: string;
  usage: string;
  cost: number;
}

export interface CostEstimate {
  /** What was priced. */
  workload: Workload;
  imagesPerMonth: number;
  lines: CostLine[];
  total: number;
  perImage: number;
}

const count = (n: number) => Math.round(n).toLocaleString("en-US");
const num = (n: number, digits = 2) => (Number.isInteger(n) ? String(n) : n.toFixed(digits));
const gb = (mb: number) => mb / 1024;

function lambdaLine(
  key: LineKey,
  resource: string,
  images: number,
  l: Workload["processor"],
  prices: PriceTable,
): CostLine {
  const invocations = images * l.invocationsPerImage;
  const gbSeconds = images * l.secondsPerImage * gb(l.memoryMB);
  const cost = gbSeconds * prices.lambda.perGbSecond + (invocations / 1e6) * prices.lambda.perMillionRequests;
  return {
    key,
    resource,
    usage: `${count(invocations)} invocations, ${count(images)} x ${num(l.secondsPerImage, 3)} s @ ${l.memoryMB} MB = ${count(gbSeconds)} GB-s`,
    cost,
  };
}

export function estimateCost(w: Workload, prices: PriceTable): CostEstimate {
  const images = w.imagesPerDay * DAYS_PER_MONTH;
  const writes = images * w.dynamodb.writesPerImage;
  const reads = images * w.dynamodb.readsPerImage;
  const puts = images * w.s3.putsPerImage;
  const gets = images * w.s3.getsPerImage;
  const lines: CostLine[] = [
    lambdaLine("processor", "Image Processor Lambda", images, w.processor, prices),
    lambdaLine("api", "Main Lambda (API, progress stream)", images, w.api, prices),
    {
      key: "dynamodb",
      resource: "DynamoDB (on-demand)",
      usage: `${count(writes)} writes + ${count(reads)} reads`,
      cost: (writes / 1e6) * prices.dynamodb.perMillionWriteUnits + (reads / 1e6) * prices.dynamodb.perMillionReadUnits,
    },
    {
      key: "s3Storage",
      resource: "S3 Storage",
      usage: `${num(w.s3.storageGB)} GB average`,
      cost: w.s3.storageGB * prices.s3.perGbMonth,
    },
    {
      key: "s3Requests",
      resource: "S3 Requests",
      usage: `${count(puts)} PUTs + ${count(gets)} GETs`,
      cost: (puts / 1000) * prices.s3.perThousandPut + (gets / 1000) * prices.s3.perThousandGet,
    },
    {
      key: "transfer",
      resource: "Data Transfer",
      usage: `${num(w.transferOutGB)} GB outbound`,
      cost: w.transferOutGB * prices.transfer.perGbOut,
    },
  ];
  const total = lines.reduce((s, l) => s + l.cost, 0);
  return { workload: w, imagesPerMonth: images, lines, total, perImage: images > 0 ? total / images : 0 };
}

/** The guide's table as printed (1000 images/day), to show beside the recomputation. */
export const GUIDE_PRINTED: { imagesPerDay: number; lines: Record<LineKey, number>; total: number; perImage: number } =
  {
    imagesPerDay: 1000,
    lines: { processor: 16.67, api: 0.83, dynamodb: 1.13, s3Storage: 2.3, s3Requests: 0.17, transfer: 4.5 },
    total: 25.6,
    perImage: 0.00085,
  };

/**
 * The guide's assumptions, per image so they scale to any volume: 10 s @ 2 GB processing, 1 s @
 * 256 MB orchestration, 3 writes + 3 reads, 1 PUT + 2 GETs, and its 100 GB stored / 50 GB sent
 * for 30,000 images a month.
 */
export function guideWorkload(imagesPerDay: number, processorMemoryMB = 2048): Workload {
  const scale = imagesPerDay / GUIDE_PRINTED.imagesPerDay;
  return {
    imagesPerDay,
    processor: { memoryMB: processorMemoryMB, secondsPerImage: 10, invocationsPerImage: 1 },
    api: { memoryMB: 256, secondsPerImage: 1, invocationsPerImage: 1 },
    dynamodb: { writesPerImage: 3, readsPerImage: 3 },
    s3: { storageGB: 100 * scale, putsPerImage: 1, getsPerImage: 2 },
    transferOutGB: 50 * scale,
  };
}

/** Lambda duration at a memory size, from a time measured on one core (sharp runs one thread here). */
export function lambdaSeconds(secondsOnOneCore: number, memoryMB: number): number {
  return secondsOnOneCore * Math.max(1, LAMBDA_MB_PER_VCPU / memoryMB);
}

/** What the benchmark measured, reduced to what the cost model needs. */
export interface Measured {
  source: string;
  date?: string;
  machine?: string;
  /** Processing one 2725x2225 JPEG -> 800 px JPEG, median, seconds (imgedit's pipeline). */
  pipelineSeconds?: number;
  /** End to end through the service at concurrency 1 (fetch, process, store, progress), p50 seconds. */
  serviceSeconds?: number;
  /** Bytes of one result (the 800 px JPEG). */
  outputBytes?: number;
  /** Session writes per one-image edit, counted from the progress stream's event ids. */
  writesPerImage?: number;
}

export interface MeasuredOptions {
  imagesPerDay: number;
  processorMemoryMB: number;
  /** Overrides the measured processing time (seconds on one core). */
  seconds?: number;
  /** Days results are kept (the bucket's lifecycle rule and the sessions' ttl). */
  retentionDays?: number;
}

/**
 * Processing time per image on one core: the larger of the service's end-to-end p50 (fetch,
 * process, store, progress; one at a time) and the pipeline's median (the bench's busiest
 * moments can make either one the larger), so the estimate errs high.
 */
export function measuredSeconds(m: Measured): number | undefined {
  const known = [m.serviceSeconds, m.pipelineSeconds].filter((v): v is number => v !== undefined);
  return known.length ? Math.max(...known) : undefined;
}

/**
 * The same lines from measurements: processing time from the bench (scaled to the memory size's
 * CPU share), result size for storage and transfer, and the API function billed for as long as
 * the progress stream is open (response streaming bills the whole stream, not 1 s).
 */
/**
 * The API function as the stack deploys it (infra/stack.ts; test/infra checks they agree): its
 * memory, and how often an open progress stream reads the session (src/lambda/api-app.ts polls
 * DynamoDB, one strongly consistent GetItem per interval).
 */
export const DEPLOYED_API = { memoryMB: 1024, pollSeconds: 1 } as const;

export function measuredWorkload(m: Measured, o: MeasuredOptions): Workload {
  const guide = guideWorkload(o.imagesPerDay, o.processorMemoryMB);
  const oneCore = o.seconds ?? measuredSeconds(m);
  if (oneCore === undefined) throw new Error("no measured processing time: run `npm run bench` or pass --seconds");
  const processorSeconds = lambdaSeconds(oneCore, o.processorMemoryMB);
  // the API function holds the progress stream open (waiting, not computing) while the image is processed
  const streamSeconds = processorSeconds;
  const retention = o.retentionDays ?? 30;
  const outGB = m.outputBytes !== undefined ? m.outputBytes / 1024 ** 3 : undefined;
  return {
    imagesPerDay: o.imagesPerDay,
    processor: { memoryMB: o.processorMemoryMB, secondsPerImage: processorSeconds, invocationsPerImage: 1 },
    api: { memoryMB: DEPLOYED_API.memoryMB, secondsPerImage: streamSeconds, invocationsPerImage: 2 },
    dynamodb: {
      // the session's writes, plus the edit's rate count (one UpdateItem the API's containers share)
      writesPerImage: (m.writesPerImage ?? guide.dynamodb.writesPerImage) + 1,
      // the guide's 3, plus the open stream's reads: one when it opens, one per poll after that
      readsPerImage: guide.dynamodb.readsPerImage + 1 + Math.floor(streamSeconds / DEPLOYED_API.pollSeconds),
    },
    s3: {
      // without a measured result size, the guide's storage stands
      storageGB: outGB === undefined ? guide.s3.storageGB : o.imagesPerDay * retention * outGB,
      putsPerImage: 1,
      getsPerImage: guide.s3.getsPerImage,
    },
    transferOutGB:
      outGB === undefined ? guide.transferOutGB : o.imagesPerDay * DAYS_PER_MONTH * guide.s3.getsPerImage * outGB,
  };
}

interface BenchJson {
  machine?: { date?: string; cpuModel?: string; cores?: number };
  pipeline?: { id: string; tools: { tool: string; status: string; medianMs?: number; outBytes?: number }[] }[];
  service?: { status: string; levels: { concurrency: number; p50Ms: number }[]; writesPerImage?: number };
}

/** Reads the figures the model needs out of bench/results/latest.json (already parsed). */
export function measuredFromBench(json: unknown, source: string): Measured {
  const b = json as BenchJson;
  const jpeg = b.pipeline?.find((c) => c.id === "jpeg");
  const pick = (tool: string) => jpeg?.tools.find((t) => t.tool === tool && t.status === "ok");
  const row = pick("imgedit") ?? pick("sharp");
  const c1 = b.service?.status === "ok" ? b.service.levels.find((l) => l.concurrency === 1) : undefined;
  return {
    source,
    date: b.machine?.date,
    machine: b.machine ? `${b.machine.cpuModel}, ${b.machine.cores} cores` : undefined,
    pipelineSeconds: row?.medianMs !== undefined ? row.medianMs / 1000 : undefined,
    serviceSeconds: c1?.p50Ms !== undefined && Number.isFinite(c1.p50Ms) ? c1.p50Ms / 1000 : undefined,
    outputBytes: row?.outBytes,
    writesPerImage: b.service?.writesPerImage,
  };
}
