// The run view: header (status, elapsed, progress), the live log, interrupt forms, the result.
// The log arrives as `batch` messages of small ops; a (re)rendered view asks for a `snapshot`.

import { AnyModel } from "./model";
import { BatchMsg, Entry, FormSpec, Header, Op, ResumeErrorMsg, SnapshotMsg, ToFrontend, msg } from "./protocol";
import { append, badge, clear, duration, h, stickToBottom } from "./dom";
import { FormHandle, renderForm } from "./forms";

const MAX_ROWS = 2000;
const MARKS: Record<string, string> = { running: "…", ok: "✓", error: "✗", interrupted: "⏸" };

function entryRow(e: Entry): HTMLElement {
  const row = h("div", { class: "nbflow-entry", "data-kind": e.kind, "data-id": e.id });
  if (e.depth) row.style.paddingLeft = `${e.depth * 1.2 + 0.4}em`;
  fillRow(row, e);
  return row;
}

function fillRow(row: HTMLElement, e: Entry): void {
  clear(row);
  if (e.state) row.dataset.state = e.state;
  switch (e.kind) {
    case "task": {
      const state = e.state ?? "running";
      append(row, h("span", { class: "nbflow-mark", text: MARKS[state] ?? "?" }), h("span", { class: "nbflow-task-name", text: e.name ?? "" }));
      if (e.cached) append(row, badge("cached", "cached"));
      if (e.replayed) append(row, badge("replayed", "replayed"));
      if (state !== "running" && e.duration !== undefined && !e.replayed) append(row, h("span", { class: "nbflow-duration", text: duration(e.duration) }));
      if (state === "ok" && e.preview) append(row, h("span", { class: "nbflow-arrow", text: "→" }), h("code", { class: "nbflow-preview", text: e.preview }));
      if (state === "error") append(row, h("span", { class: "nbflow-error-text", text: e.error ?? "error" }));
      if (state === "interrupted") append(row, h("span", { class: "nbflow-muted", text: "waiting for an answer" }));
      break;
    }
    case "message":
      append(row, h("span", { class: "nbflow-mark", text: "💬" }), e.node ? h("span", { class: "nbflow-task-name", text: e.node }) : null,
        h("div", { class: "nbflow-message", text: e.text ?? "" }));
      break;
    case "custom":
      append(row, h("span", { class: "nbflow-mark", text: "·" }), h("code", { class: "nbflow-preview", text: e.text ?? "" }));
      break;
    case "interrupt":
      append(row, h("span", { class: "nbflow-mark", text: "?" }), h("span", { text: "asked" + (e.task ? ` in ${e.task}` : "") + ": " }), h("code", { class: "nbflow-preview", text: e.text ?? "" }));
      break;
    case "answer":
      append(row, h("span", { class: "nbflow-mark", text: "↳" }), h("span", { text: "answer: " }), h("code", { class: "nbflow-preview", text: e.text ?? "" }));
      break;
    case "error":
      append(row, h("span", { class: "nbflow-mark", text: "✗" }), h("span", { class: "nbflow-error-text", text: e.text ?? "" }));
      break;
    default:
      append(row, h("span", { class: "nbflow-muted", text: e.text ?? "" }));
  }
}

export function renderRun(model: AnyModel, el: HTMLElement): () => void {
  const root = h("div", { class: "nbflow-run", "data-status": model.get("status"), "data-lm-suppress-shortcuts": "true" });
  const name = h("span", { class: "nbflow-name" });
  const thread = h("span", { class: "nbflow-thread" });
  const status = h("span", { class: "nbflow-status" });
  const elapsed = h("span", { class: "nbflow-elapsed" });
  const progressBar = h("span", { class: "nbflow-progress-bar" });
  const progress = h("span", { class: "nbflow-progress", title: "tasks finished / started" }, h("span", { class: "nbflow-progress-track" }, progressBar), h("span", { class: "nbflow-progress-text" }));
  const header = h("div", { class: "nbflow-header" }, name, thread, status, elapsed, progress);
  const omitted = h("div", { class: "nbflow-muted nbflow-omitted", hidden: true });
  const log = h("div", { class: "nbflow-log", role: "log", "aria-live": "polite" });
  const errorBox = h("div", { class: "nbflow-run-error", hidden: true });
  const formsBox = h("div", { class: "nbflow-forms" });
  const resultBox = h("div", { class: "nbflow-result-box", hidden: true });
  append(root, header, omitted, log, errorBox, formsBox, resultBox);
  el.append(root);

  const rows = new Map<number, { entry: Entry; row: HTMLElement }>();
  let seq = -1;
  let awaiting = true;
  let elapsedBase = 0;
  let elapsedAt = performance.now();
  let forms = new Map<string, FormHandle>();

  const trim = () => {
    while (rows.size > MAX_ROWS) {
      const first = rows.keys().next().value as number;
      rows.get(first)?.row.remove();
      rows.delete(first);
    }
  };
  const applyOp = (op: Op) => {
    if (op.op === "append") {
      const row = entryRow(op.entry);
      rows.set(op.entry.id, { entry: op.entry, row });
      log.append(row);
    } else if (op.op === "patch") {
      const item = rows.get(op.id);
      if (item) {
        Object.assign(item.entry, op.set);
        fillRow(item.row, item.entry);
      }
    } else if (op.op === "text") {
      const item = rows.get(op.id);
      if (item) {
        item.entry.text = (item.entry.text ?? "") + op.text;
        const box = item.row.querySelector(".nbflow-message");
        if (box) box.textContent = item.entry.text;
      }
    }
  };
  const onSnapshot = (m: SnapshotMsg) => {
    stickToBottom(log, () => {
      clear(log);
      rows.clear();
      for (const e of m.entries) applyOp({ op: "append", entry: e });
      trim();
    });
    omitted.hidden = !m.omitted;
    omitted.textContent = m.omitted ? `${m.omitted} earlier log entries are not shown` : "";
    seq = m.seq;
    awaiting = false;
  };
  const onBatch = (m: BatchMsg) => {
    if (awaiting || m.seq <= seq) return;
    stickToBottom(log, () => {
      for (const op of m.ops) applyOp(op);
      trim();
    });
    seq = m.seq;
  };
  const onResumeError = (m: ResumeErrorMsg) => forms.get(m.id)?.showErrors(m.message, m.errors ?? []);

  const onCustom = (content: ToFrontend) => {
    if (!content || typeof content !== "object") return;
    if (content.kind === "snapshot") onSnapshot(content);
    else if (content.kind === "batch") onBatch(content);
    else if (content.kind === "resume_error") onResumeError(content);
  };

  const tick = () => {
    const st = model.get("status");
    const secs = st === "running" ? elapsedBase + (performance.now() - elapsedAt) / 1000 : elapsedBase;
    elapsed.textContent = model.get("header")?.started_at ? duration(secs) : "";
  };
  const onHeader = () => {
    const hd: Header = model.get("header") ?? {};
    name.textContent = hd.name ?? "";
    thread.textContent = hd.thread_id ? `thread ${hd.thread_id}` : "";
    elapsedBase = hd.elapsed ?? 0;
    elapsedAt = performance.now();
    const done = hd.tasks_done ?? 0;
    const started = hd.tasks_started ?? 0;
    (progress.lastChild as HTMLElement).textContent = `${done}/${started} tasks` + (hd.custom ? ` · ${hd.custom} events` : "");
    progressBar.style.width = started ? `${Math.round((100 * done) / started)}%` : "0%";
    errorBox.hidden = !hd.error || model.get("status") !== "error";
    errorBox.textContent = hd.error ?? "";
    tick();
  };
  const onStatus = () => {
    const st = model.get("status") ?? "idle";
    root.dataset.status = st;
    status.textContent = st;
    status.dataset.status = st;
    onHeader();
  };
  const onForms = () => {
    const specs: FormSpec[] = model.get("forms") ?? [];
    clear(formsBox);
    forms = new Map();
    for (const spec of specs) {
      const handle = renderForm(spec, (m) => model.send(m));
      forms.set(spec.id, handle);
      formsBox.append(handle.el);
    }
  };
  const onResult = () => {
    const r = model.get("result") ?? {};
    clear(resultBox);
    resultBox.hidden = r.text === undefined;
    if (r.text !== undefined) {
      append(resultBox, h("div", { class: "nbflow-result-label", text: "Result" }), h("pre", { class: "nbflow-result", "data-testid": "nbflow-result", text: r.text }));
    }
  };

  model.on("msg:custom", onCustom);
  model.on("change:status", onStatus);
  model.on("change:header", onHeader);
  model.on("change:forms", onForms);
  model.on("change:result", onResult);
  onStatus();
  onForms();
  onResult();
  const timer = window.setInterval(() => {
    if (model.get("status") === "running") tick();
  }, 250);
  model.send(msg("snapshot_request"));

  return () => {
    window.clearInterval(timer);
    model.off("msg:custom", onCustom);
    model.off("change:status", onStatus);
    model.off("change:header", onHeader);
    model.off("change:forms", onForms);
    model.off("change:result", onResult);
  };
}
