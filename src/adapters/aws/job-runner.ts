// JobRunner on Lambda: each job is one asynchronous invocation (InvocationType 'Event') of the
// processor function. Lambda queues the event and retries failed runs itself (twice by default),
// so runJob must be idempotent; the attempt number travels in the event for the logs.
import { InvokeCommand, type LambdaClient } from "@aws-sdk/client-lambda";
import { ImageEditError } from "../../core/errors.js";
import type { Job, JobRunner } from "../../ports.js";

export interface LambdaJobRunnerOptions {
  client: LambdaClient;
  /** Function name or ARN (IMAGE_PROCESSOR_FUNCTION_ARN); an alias ARN pins a version. */
  functionName: string;
  /** Invocations in flight at once when enqueuing many jobs. */
  concurrency?: number;
}

/** The processor Lambda's event: one job. */
export interface JobEvent {
  job: Job;
}

export class LambdaJobRunner implements JobRunner {
  private inFlight = 0;
  private stopped = false;

  constructor(private readonly opts: LambdaJobRunnerOptions) {}

  async enqueue(jobs: Job[]): Promise<void> {
    if (this.stopped) throw new ImageEditError("STORAGE_FAILED", "job runner is stopped", { retryable: true });
    const queue = [...jobs];
    const failures: string[] = [];
    const worker = async () => {
      for (let job = queue.shift(); job; job = queue.shift()) {
        this.inFlight++;
        try {
          const payload: JobEvent = { job };
          const out = await this.opts.client.send(
            new InvokeCommand({
              FunctionName: this.opts.functionName,
              InvocationType: "Event",
              Payload: new TextEncoder().encode(JSON.stringify(payload)),
            }),
          );
          // An accepted async invocation answers 202.
          if (out.StatusCode !== 202) failures.push(`${job.imageId}: status ${out.StatusCode}`);
        } catch (e) {
          failures.push(`${job.imageId}: ${e instanceof Error ? e.message : String(e)}`);
        } finally {
          this.inFlight--;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(jobs.length, this.opts.concurrency ?? 10) }, worker));
    if (failures.length > 0) {
      throw new ImageEditError("STORAGE_FAILED", `could not queue ${failures.length} job(s): ${failures.join("; ")}`, {
        retryable: true,
        details: { failures },
      });
    }
  }

  /** Only invocations being handed to Lambda: queued events live in Lambda, not here. */
  depth(): number {
    return this.inFlight;
  }

  async stop(): Promise<void> {
    this.stopped = true;
  }
}
