// What a chat model in a task looks like in the views (issue 20): the text it is streaming, the tool calls
// it asked for (sub-rows), and its usage (tokens, cost). Kept apart from rows.ts / run.ts so the run view
// only gains a call here and a header field.

import { Row, ToolCallRow, UsageSummary } from "./protocol";

function esc(text: string): string {
  return text.replace(/[&<>"]/g, (c) => (c === "&" ? "&amp;" : c === "<" ? "&lt;" : c === ">" ? "&gt;" : "&quot;"));
}

/** "$0.0042", "$1.23": enough digits to tell small calls apart (as nbflow.observe.usage.format_cost). */
export function cost(usd: number): string {
  if (usd >= 1) return `$${usd.toFixed(2)}`;
  if (usd === 0) return "$0";
  return usd < 0.01 ? `$${usd.toFixed(6).replace(/0+$/, "")}` : `$${usd.toFixed(4)}`;
}

/** Short: "1,234 tok · $0.0042" (the whole line is the tooltip). */
export function usageShort(u: UsageSummary): string {
  // a model that reports no token counts (many fakes, some providers unless asked): say what is known
  if (!u.total_tokens && !u.cost) return `${u.calls} model call${u.calls === 1 ? "" : "s"}`;
  let s = `${u.total_tokens.toLocaleString("en-US")} tok`;
  if (u.calls > u.unpriced) s += ` · ${cost(u.cost)}`;
  return s;
}

function tooltip(u: UsageSummary): string {
  return `${u.text}${u.models.length ? ` · ${u.models.join(", ")}` : ""}`;
}

/** The usage chip of a row or a header (empty markup when there were no model calls). */
export function usageHtml(u: UsageSummary | undefined, testid = "nbflow-usage"): string {
  if (!u || !u.calls) return "";
  return `<span class="nbflow-usage" data-testid="${testid}" title="${esc(tooltip(u))}">${esc(usageShort(u))}</span>`;
}

function toolHtml(t: ToolCallRow): string {
  return `<div class="nbflow-tool-call" data-testid="nbflow-tool-call"><span class="nbflow-tool-mark">↳</span>` +
    `<span class="nbflow-tool-name">${esc(t.name || "tool")}</span><code class="nbflow-tool-args">${esc(t.args)}</code></div>`;
}

/** What a task row adds for its model: the usage chip, then the growing text and the tool calls below it. */
export function llmRowHtml(r: Row): string {
  let html = usageHtml(r.usage);
  if (r.stream) html += `<div class="nbflow-stream" data-testid="nbflow-stream">${esc(r.stream)}<span class="nbflow-caret"></span></div>`;
  if (r.tools && r.tools.length) html += `<div class="nbflow-tool-calls">${r.tools.map(toolHtml).join("")}</div>`;
  return html;
}

/** The part of a row's signature the model fields make (a row is redrawn when it changes). */
export function llmSig(r: Row): string {
  return `${r.stream ?? ""}|${r.tools ? JSON.stringify(r.tools) : ""}|${r.usage ? r.usage.text : ""}`;
}

/** A header's usage text: this invocation, and the thread when it differs. */
export function headerUsage(inv: UsageSummary | undefined, thread: UsageSummary | undefined): { text: string; title: string } {
  if (!inv && !thread) return { text: "", title: "" };
  const parts: string[] = [];
  const titles: string[] = [];
  if (inv && inv.calls) { parts.push(usageShort(inv)); titles.push(`this invocation: ${tooltip(inv)}`); }
  if (thread && thread.calls && (!inv || thread.total_tokens !== inv.total_tokens || thread.calls !== inv.calls)) {
    parts.push(`thread ${usageShort(thread)}`);
    titles.push(`whole thread: ${tooltip(thread)}`);
  }
  return { text: parts.join(" · "), title: titles.join("\n") };
}
