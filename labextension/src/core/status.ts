// A thread's status in words and as an icon name: one table for the run view (run.ts),
// the Workflows sidebar and saved views (lab/), so every view says the same thing.

export const STATUS_WORDS: Record<string, string> = {
  idle: "idle", running: "running", interrupted: "waiting for input", done: "done", error: "failed", stopped: "stopped",
};

export const STATUS_ICON: Record<string, string> = {
  running: "running", interrupted: "waiting", done: "ok", error: "error", stopped: "stopped",
};

export function statusWords(status: string): string {
  return STATUS_WORDS[status] ?? status;
}
