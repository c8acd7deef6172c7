// Node's ServerResponse, with what a response writes within one turn of the event loop sent to the
// socket as one write. Hono's Node adapter flushes a stream's headers on their own and ends a
// chunked body with its own write, so a progress stream cost four socket writes (headers, first
// state, last events, terminator) where two carry the same bytes. On loopback each write costs the
// sender the receiver's TCP work too (~0.1 ms), and each is a packet on any network.
import { ServerResponse } from "node:http";

export class CoalescingResponse extends ServerResponse {
  #corked = false;

  /** Hold this turn's writes; end() sends everything at once anyway (it uncorks fully). */
  #coalesce(): void {
    if (this.#corked || !this.socket || this.writableEnded) return;
    this.#corked = true;
    this.cork();
    process.nextTick(() => {
      this.#corked = false;
      if (!this.writableEnded) this.uncork();
    });
  }

  override flushHeaders(): void {
    this.#coalesce();
    super.flushHeaders();
  }

  override write(chunk: unknown, callback?: (error?: Error | null) => void): boolean;
  override write(chunk: unknown, encoding: BufferEncoding, callback?: (error?: Error | null) => void): boolean;
  override write(chunk: unknown, encoding?: unknown, callback?: (error?: Error | null) => void): boolean {
    this.#coalesce();
    return super.write(chunk, encoding as BufferEncoding, callback);
  }
}
