// One of several processes taking one DATA_DIR's lock in the same time slots (data-lock.test.ts):
// at the start of each slot it tries, and a winner appends "<round> <pid>" and lets go at the slot's end.
import { appendFileSync } from "node:fs";
import { lockDataDir } from "../../src/adapters/local/data-lock.js";

const [dir, results, start, slotMs, rounds] = process.argv.slice(2);
const sleep = (until: number) => new Promise((r) => setTimeout(r, Math.max(0, until - Date.now())));
for (let round = 0; round < Number(rounds); round++) {
  const t = Number(start) + round * Number(slotMs);
  if (Date.now() > t + Number(slotMs) * 0.2) continue; // started too late for this round: not a contender
  await sleep(t);
  while (Date.now() < t); // the last millisecond spun, so the contenders start together
  let release: (() => void) | undefined;
  try {
    release = lockDataDir(dir);
    appendFileSync(results, `${round} ${process.pid}\n`);
  } catch {
    // taken: another contender won this round
  }
  await sleep(t + Number(slotMs) * 0.8);
  release?.();
}
