// The saved view: a run view's last state, drawn read-only from the nbflow MIME
// entry (`application/vnd.nbflow.view+json`, written by nbflow/notebook/mime.py)
// when the live widget is not there (kernel gone, notebook reopened).
// Framework-free DOM; the renderer in ../lab/mime.ts decides when it is shown.

import { renderConversation } from "./conversation";
import { statusWords } from "./status";
import { usageShort } from "./llm";
import { ChatMessage, UsageSummary } from "./protocol";

export const MIME_TYPE = "application/vnd.nbflow.view+json";
export const SUPPORTED_VERSION = 1;

export interface SavedRow {
  key: string;
  kind: string;
  name: string;
  depth: number;
  state: string;
  preview: string;
  error: string;
  duration: number;
  cached: boolean;
  replayed: boolean;
  /** Its model calls summed (views saved before issue 20, or tasks without a model call: absent / null). */
  usage?: UsageSummary | null;
}

export interface SavedQuestion {
  id: string;
  task: string;
  state: string;
  summary: string;
  /** Human text (the question string, else compact JSON); views saved before it existed lack it. */
  text?: string;
  answer: string;
}

export interface SavedState {
  workflow: string;
  thread_id: string | null;
  status: string;
  done: number;
  total: number;
  active_s: number;
  waiting_s: number;
  /** Epoch seconds the current running/waiting stretch began (null when settled). */
  since?: number | null;
  error: string;
  error_where: string;
  result_preview: string;
  has_result: boolean;
  questions: SavedQuestion[];
  invocation?: number;
  result_chat?: ChatMessage[];
  moved_on?: boolean;
  /** The invocation's / the thread's model usage and cost (absent when no model was called). */
  usage?: UsageSummary;
  thread_usage?: UsageSummary;
}

export interface SavedView {
  version: number;
  kind: string;
  workflow: string;
  thread_id: string | null;
  config: Record<string, unknown>;
  state: SavedState;
  rows: SavedRow[];
  rows_omitted: number;
  reattach: string;
}

/** The payload, if this front end can draw it (else null: show the text fallback). */
export function readSaved(data: unknown): SavedView | null {
  if (!data || typeof data !== "object") return null;
  const v = data as Partial<SavedView>;
  if (v.version !== SUPPORTED_VERSION || v.kind !== "run" || !v.state || !Array.isArray(v.rows)) return null;
  return v as SavedView;
}

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K, cls: string, text?: string, attrs?: Record<string, string>,
): HTMLElementTagNameMap[K] {
  const n = document.createElement(tag);
  if (cls) n.className = cls;
  if (text !== undefined) n.textContent = text;
  for (const [k, v] of Object.entries(attrs ?? {})) n.setAttribute(k, v);
  return n;
}

/** A duration as the live run view writes it (dom.ts duration()): a saved view and the live view of one run
 * show the same numbers the same way. */
export function seconds(s: number): string {
  if (!isFinite(s) || s <= 0) return "0 s";
  if (s < 10) return `${s.toFixed(2)} s`;
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  return `${m} min ${String(Math.floor(s % 60)).padStart(2, "0")} s`;
}

/**
 * The header's facts that are true and worth saying: task counts only when tasks were called
 * ("3 tasks" once all finished, "2/3 tasks" otherwise), active and waiting time only when there was some.
 */
export function headline(st: SavedState): string {
  const parts: string[] = [];
  if (st.total > 0) {
    const n = `${st.total} task${st.total === 1 ? "" : "s"}`;
    parts.push(st.done === st.total ? n : `${st.done}/${n}`);
  } else if (st.status === "done" || st.status === "error") {
    parts.push("no task calls");
  }
  if (st.active_s > 0) parts.push(`active ${seconds(st.active_s)}`);
  if (st.waiting_s > 0) parts.push(`waited ${seconds(st.waiting_s)}`);
  if (st.status === "interrupted" && st.since) parts.push(`waiting since ${new Date(st.since * 1000).toLocaleString()}`);
  if (st.usage && st.usage.calls) parts.push(usageShort(st.usage));
  return parts.join(" · ");
}

export interface SavedHandles {
  root: HTMLElement;
  reattach: HTMLButtonElement;
  note: HTMLElement;
}

/** Draw `view` read-only; the Reattach button is returned for the caller to wire. */
export function renderSaved(view: SavedView): SavedHandles {
  const st = view.state;
  const root = el("section", "nbflow-saved", undefined, {
    "data-status": st.status,
    "aria-label": `Saved nbflow run of ${view.workflow}, thread ${view.thread_id ?? "none"}: ${statusWords(st.status)}`,
  });
  const head = el("header", "nbflow-saved-head");
  head.append(
    el("span", "nbflow-saved-name", view.workflow),
    el("span", "nbflow-saved-thread", view.thread_id ? `thread ${view.thread_id}` : "no thread"),
    // A run saved while going: the saved copy cannot know whether it still is (Reattach asks the kernel).
    el("span", `nbflow-saved-status nbflow-saved-status-${st.status}`, st.status === "running" ? "running when saved" : statusWords(st.status),
      { "data-testid": "nbflow-saved-status", "data-status": st.status }),
  );
  const facts = headline(st);
  if (facts) head.append(el("span", "nbflow-saved-count", facts, { "data-testid": "nbflow-saved-count" }));
  const reattach = el("button", "nbflow-saved-reattach jp-mod-styled", "Reattach", {
    type: "button",
    "data-testid": "nbflow-reattach",
    "aria-label": `Reattach a live view of thread ${view.thread_id ?? ""} (runs nbflow.show in the kernel)`,
    title: view.reattach,
  });
  head.append(reattach);
  root.append(head);
  const note = el("p", "nbflow-saved-note", "Saved view (read-only): the live view is not available. " +
    "Reattach shows the thread live again in a running kernel.", { role: "status" });
  root.append(note);
  if (st.moved_on) {
    root.append(el("p", "nbflow-turn-note", `Turn ${st.invocation ?? "?"} of the thread (a newer turn has its own view); ` +
      "Reattach shows the thread as it is now.", { "data-testid": "nbflow-turn-note" }));
  }

  const list = el("ol", "nbflow-saved-rows", undefined, { "aria-label": "Task calls" });
  for (const r of view.rows) {
    const li = el("li", "nbflow-saved-row", undefined,
      { "data-state": r.state, "data-kind": r.kind, "data-replayed": String(!!r.replayed) });
    li.style.paddingLeft = `${Math.min(r.depth, 8) * 1.2}em`;
    li.append(el("span", "nbflow-saved-row-state", r.state), el("span", "nbflow-saved-row-name", r.name));
    if (r.duration > 0) li.append(el("span", "nbflow-saved-row-time", seconds(r.duration)));
    if (r.replayed) li.append(el("span", "nbflow-saved-tag", "from checkpoint"));
    if (r.cached) li.append(el("span", "nbflow-saved-tag", "cached"));
    if (r.usage && r.usage.calls) li.append(el("span", "nbflow-usage", usageShort(r.usage), { title: r.usage.text, "data-testid": "nbflow-saved-usage" }));
    const detail = r.error || r.preview;
    if (detail) li.append(el("span", r.error ? "nbflow-saved-row-error" : "nbflow-saved-row-preview", detail));
    list.append(li);
  }
  if (view.rows_omitted > 0) list.append(el("li", "nbflow-saved-row", `… ${view.rows_omitted} earlier rows not saved`));
  const replayed = view.rows.filter((r) => r.replayed).length;
  if (replayed > 0) {
    // Shown only while the "collapse replayed rows" setting hides them (lab.css), so nothing vanishes unexplained.
    list.append(el("li", "nbflow-saved-collapsed", `${replayed} row${replayed === 1 ? "" : "s"} read back from the ` +
      "checkpoint hidden (Settings › nbflow › Collapse replayed rows)", { "data-testid": "nbflow-saved-collapsed" }));
  }
  if (view.rows.length || view.rows_omitted) root.append(list);

  const open = st.questions.filter((q) => q.state === "pending");
  if (open.length) {
    const qs = el("ul", "nbflow-saved-questions", undefined, { "aria-label": "Waiting questions" });
    for (const q of open) {
      const from = q.task && q.task !== view.workflow ? ` (${q.task})` : "";
      qs.append(el("li", "", `Waiting for an answer${from}: ${q.text ?? q.summary}`, { "data-interrupt-id": q.id }));
    }
    root.append(qs);
  }
  if (st.error) {
    root.append(el("pre", "nbflow-saved-error", `${st.error_where ? st.error_where + ": " : ""}${st.error}`,
      { "data-testid": "nbflow-saved-error" }));
  } else if (st.has_result && st.result_chat?.length) {
    const chat = renderConversation(st.result_chat);
    chat.dataset.testid = "nbflow-saved-result";
    root.append(chat);
  } else if (st.has_result) {
    root.append(el("pre", "nbflow-saved-result", st.result_preview, { "data-testid": "nbflow-saved-result" }));
  }
  return { root, reattach, note };
}
