// Planner section: how many plain-English commands per second the grammar turns into plans.

export interface PlannerResult {
  status: "ok" | "not available";
  note?: string;
  commandsPerSec?: number;
  meanUs?: number;
  distinct?: number;
  understood?: number;
  iterations?: number;
}

/** Varied phrasings, simple to long, plus a few the grammar should reject. */
export const COMMANDS = [
  "resize to 800px",
  "resize to 800x600",
  "make it 1200 wide and convert to webp",
  "scale by 50%",
  "half size",
  "crop to 16:9",
  "crop to a square",
  "rotate 90 degrees",
  "rotate 45 degrees clockwise with a white background",
  "flip horizontally",
  "mirror it",
  "convert to grayscale",
  "black and white, then sharpen",
  "sepia",
  "make it brighter by 20%",
  "increase contrast and saturation",
  "blur slightly",
  "blur with sigma 5",
  "add a 10px black border",
  "convert to avif at quality 60",
  "convert to png",
  "resize to 800px wide, rotate 90 degrees, convert to webp at quality 80",
  "thumbnail 200x200",
  "make it a 300px thumbnail and convert to jpeg",
  "invert the colours",
  "normalize",
  "add text 'hello world' at the bottom",
  "shift hue by 30 degrees",
  "gamma 2.2",
  "trim the edges",
  "resize to 1024px, sharpen, add a 5px white border and save as jpg quality 85",
  "vignette",
  "make it look like an oil painting",
  "tint it blue",
  "purple monkey dishwasher",
  "resize to banana",
];

export async function runPlanner(budgetMs: number): Promise<PlannerResult> {
  let parseCommand: (text: string) => { ok: boolean };
  try {
    // a variable specifier: this section still compiles while the planner is being written
    const planner = "../src/core/command/index.js";
    ({ parseCommand } = (await import(planner)) as {
      parseCommand: (text: string) => { ok: boolean };
    });
  } catch (e) {
    return { status: "not available", note: `src/core/command/index.ts: ${e instanceof Error ? e.message : e}` };
  }
  const understood = COMMANDS.filter((c) => parseCommand(c).ok).length;
  // warm-up (JIT), then timed passes over the whole list until the budget is spent
  for (let i = 0; i < 50; i++) for (const c of COMMANDS) parseCommand(c);
  let n = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < budgetMs) {
    for (const c of COMMANDS) parseCommand(c);
    n += COMMANDS.length;
  }
  const ms = performance.now() - t0;
  return {
    status: "ok",
    commandsPerSec: (n / ms) * 1000,
    meanUs: (ms * 1000) / n,
    distinct: COMMANDS.length,
    understood,
    iterations: n,
  };
}
