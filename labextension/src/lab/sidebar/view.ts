// The Workflows sidebar's view: draws a SidebarModel (model.ts) and turns clicks and answers into the
// model's intents. For the notebook in focus: its threads (name, status, last activity, checkpointer)
// and every question waiting for an answer, answerable here with the run view's own forms
// (core/forms.ts); Stop for a running thread, Continue for a stopped one; a click on a thread opens its
// timeline. Each change is drawn in place: a row is built once and updated, a question's form is built
// once and kept until the question closes, so typed text and the focus survive every update. Every
// control is a native button or form field (reachable with Tab) with a name for screen readers.

import { Widget } from "@lumino/widgets";
import { h } from "../../core/dom";
import { FormHandle, renderForm } from "../../core/forms";
import { icon } from "../../core/icons";
import { STATUS_ICON, statusWords } from "../../core/status";
import { usageShort } from "../../core/llm";
import { SidebarThread } from "../../protocol.gen";
import { SidebarChange, SidebarModel, TimeFormat, compactForm, when } from "./model";

export class WorkflowsSidebar extends Widget {
  private readonly title_ = h("div", { class: "nbflow-sb-title", text: "No notebook" });
  private readonly notice = h("div", { class: "nbflow-sb-notice", role: "status" });
  private readonly summary = h("div", { class: "nbflow-sb-summary", "aria-live": "polite" });
  private readonly list = h("ul", { class: "nbflow-sb-list", "aria-label": "Threads" });
  private readonly rows = new Map<string, ThreadRow>();
  private readonly unsubscribe: () => void;
  private readonly clock: number;

  constructor(readonly model: SidebarModel) {
    super();
    this.id = "nbflow-workflows";
    this.addClass("nbflow-sidebar");
    this.title.caption = "nbflow workflows";
    this.node.setAttribute("role", "region");
    this.node.setAttribute("aria-label", "nbflow workflows");
    const refresh = h("button", { type: "button", class: "nbflow-sb-refresh jp-mod-styled", text: "Refresh",
      "aria-label": "Refresh the list of threads", "data-testid": "nbflow-sb-refresh" });
    refresh.addEventListener("click", () => model.refresh());
    const head = h("header", { class: "nbflow-sb-head" }, h("h2", { class: "nbflow-sb-h", text: "Workflows" }), refresh);
    this.node.append(head, this.title_, this.notice, this.summary, this.list);
    this.unsubscribe = model.subscribe((c) => this.changed(c));
    this.drawLink();
    // "3 min ago" stays true while nothing changes.
    this.clock = window.setInterval(() => { if (this.isVisible) this.drawTimes(); }, 30_000);
  }

  dispose(): void {
    window.clearInterval(this.clock);
    this.unsubscribe();
    super.dispose();
  }

  private changed(c: SidebarChange): void {
    const t0 = performance.now();
    switch (c.kind) {
      case "link": return this.drawLink();
      case "times": return this.drawTimes();
      case "selected":
        if (c.was !== null) this.rows.get(c.was)?.setSelected(false);
        if (c.key !== null) this.rows.get(c.key)?.setSelected(true);
        return;
      case "error": return this.drawError(c);
      case "timeline": return;  // the plugin opens it in the main area
      case "order": this.drawOrder(); break;
      case "thread": {
        const t = this.model.thread(c.key);
        if (t) this.rows.get(c.key)?.update(t, this.model.timeFormat);
        this.drawSummary();
        break;
      }
    }
    // The list's own updates: how long applying the kernel's message took (read by the browser bench).
    this.node.dataset.lastUpdateMs = (performance.now() - t0).toFixed(2);
  }

  private drawLink(): void {
    const s = this.model.state;
    this.node.dataset.state = s;
    this.title_.textContent = this.model.title;
    if (s === "unloaded") {
      this.notice.replaceChildren("nbflow is not loaded in this notebook's kernel. Run ",
        h("code", { text: "%load_ext nbflow" }), " in a cell to load it.");
    } else {
      this.notice.textContent = s === "nokernel" ? "Open a notebook with a running kernel to see its workflows." :
        s === "connecting" ? "Connecting to the kernel…" : "";
    }
    this.notice.hidden = s === "ready";
    this.drawOrder();
  }

  /** Rows for the model's threads, in its order: existing rows are moved, never rebuilt. */
  private drawOrder(): void {
    const order = this.model.order;
    const keep = new Set(order);
    for (const [k, r] of this.rows) if (!keep.has(k)) { r.el.remove(); this.rows.delete(k); }
    // Moving a row out of the document and back drops the focus inside it: put it back where it was.
    const active = document.activeElement;
    const focused = active instanceof HTMLElement && this.list.contains(active) ? active : null;
    const caret = focused instanceof HTMLInputElement || focused instanceof HTMLTextAreaElement
      ? [focused.selectionStart, focused.selectionEnd] as const : null;
    let at: Element | null = this.list.firstElementChild;
    for (const k of order) {
      const t = this.model.thread(k)!;
      let row = this.rows.get(k);
      if (!row) {
        row = new ThreadRow(t, this.model);
        this.rows.set(k, row);
      } else {
        row.update(t, this.model.timeFormat);
      }
      if (row.el === at) at = at.nextElementSibling;
      else this.list.insertBefore(row.el, at);
    }
    if (focused && document.activeElement !== focused && focused.isConnected) {
      focused.focus();
      if (caret && caret[0] !== null && caret[1] !== null) {
        try { (focused as HTMLInputElement).setSelectionRange(caret[0], caret[1]); } catch { /* not a text control */ }
      }
    }
    this.drawSummary();
  }

  private drawSummary(): void {
    const { threads: n, running, waiting } = this.model.counts();
    this.summary.textContent = this.model.state !== "ready" ? "" :
      n === 0 ? "No threads yet: run a workflow with a checkpointer." :
      `${n} thread${n === 1 ? "" : "s"} · ${running} running · ${waiting} question${waiting === 1 ? "" : "s"} waiting`;
  }

  private drawTimes(): void {
    for (const [k, r] of this.rows) {
      const t = this.model.thread(k);
      if (t) r.drawTime(t, this.model.timeFormat);
    }
  }

  private drawError(c: Extract<SidebarChange, { kind: "error" }>): void {
    const row = this.rows.get(c.key);
    if (row && c.request === "answer" && row.showAnswerError(c.id, c.message, c.errors)) return;
    const note = h("div", { class: "nbflow-sb-error", role: "alert", text: c.message });
    (row?.el ?? this.notice).append(note);
    if (!row) this.notice.hidden = false;
    setTimeout(() => {
      note.remove();
      if (!row && this.model.state === "ready" && !this.notice.childElementCount) this.notice.hidden = true;
    }, 8000);
  }
}

/** One thread's row, updated in place. */
class ThreadRow {
  readonly el: HTMLLIElement;
  private readonly head = h("div", { class: "nbflow-sb-row" });
  private readonly open = h("button", { type: "button", class: "nbflow-sb-open", "data-testid": "nbflow-sb-open",
    title: "Open this thread's timeline" });
  private readonly status = h("span", { class: "nbflow-status nbflow-sb-status", "data-testid": "nbflow-sb-status" });
  private readonly time = h("time", { class: "nbflow-sb-time" });
  private readonly saver = h("span", { class: "nbflow-sb-saver", title: "checkpointer" });
  private readonly size = h("span", { class: "nbflow-sb-size", "data-testid": "nbflow-sb-size",
    title: "what the thread's checkpoints, journal and pieces hold in its checkpointer" });
  private readonly box = h("div", { class: "nbflow-sb-questions", role: "group", hidden: true });
  private readonly usage = h("span", { class: "nbflow-usage nbflow-sb-usage", "data-testid": "nbflow-sb-usage", hidden: true });
  private readonly stream = h("div", { class: "nbflow-sb-stream", "data-testid": "nbflow-sb-stream", hidden: true });
  private readonly actions = new Map<"stop" | "continue", HTMLButtonElement>();
  private readonly forms = new Map<string, FormHandle>();
  private shownStatus = "";

  constructor(t: SidebarThread, private readonly model: SidebarModel) {
    this.el = h("li", { class: "nbflow-sb-thread", "data-key": t.key, "data-workflow": t.workflow,
      "data-thread-id": t.thread_id });
    this.open.append(h("span", { class: "nbflow-sb-name", text: t.workflow }), h("span", { class: "nbflow-sb-tid", text: t.thread_id }));
    this.open.addEventListener("click", () => model.openTimeline(t.key));
    this.head.append(this.open);
    this.el.append(this.head, h("div", { class: "nbflow-sb-meta" }, this.status, this.time, this.usage, this.saver, this.size),
      this.stream, this.box);
    this.setSelected(model.selected === t.key);
    this.update(t, model.timeFormat);
  }

  update(t: SidebarThread, format: TimeFormat): void {
    // An unfinished run not going on in this kernel: running in another process, or gone (stopped without finishing).
    const words = t.liveness === "elsewhere" ? "running elsewhere" : t.liveness === "gone" ? "stopped (process gone)" : statusWords(t.status);
    const who = `${t.workflow} thread ${t.thread_id}`;
    this.el.dataset.status = t.status;
    this.el.setAttribute("aria-label", `${who}, ${words}`);
    const n = t.questions.length;
    const asks = n ? `, ${n === 1 ? "asks" : `asks ${n} questions, first`}: ${t.questions[0].summary}` : "";
    this.open.setAttribute("aria-label", `${who}, ${words}${asks}. Open its timeline`);
    if (this.shownStatus !== `${t.status}|${words}`) {
      // The run view's status pill (same words, icon and colours: core/status.ts, widget.css).
      this.shownStatus = `${t.status}|${words}`;
      this.status.dataset.status = t.status;
      this.status.dataset.liveness = t.liveness ?? "";
      this.status.title = t.note ?? "";
      this.status.replaceChildren(icon(STATUS_ICON[t.status] ?? "superseded"), h("span", { class: "nbflow-status-text", text: words }));
    }
    this.drawTime(t, format);
    if (this.saver.textContent !== t.checkpointer) this.saver.textContent = t.checkpointer;
    const size = t.size !== undefined && t.size >= 0 ? bytes(t.size) : "";
    if (this.size.textContent !== size) this.size.textContent = size;
    this.usage.hidden = !t.usage;
    this.usage.textContent = t.usage ? usageShort(t.usage) : "";
    this.usage.title = t.usage ? t.usage.text : "";
    this.stream.hidden = !t.streaming;
    this.stream.textContent = t.streaming ?? "";
    this.drawActions(t, who);
    this.drawQuestions(t, who);
  }

  setSelected(selected: boolean): void {
    if (selected) this.el.setAttribute("aria-current", "true");
    else this.el.removeAttribute("aria-current");
  }

  /** Show `epoch` in `format`; the other format goes in the tooltip, the exact instant in `datetime`. */
  drawTime(t: SidebarThread, format: TimeFormat): void {
    const epoch = t.last_activity;
    this.time.textContent = when(epoch, format);
    this.time.dataset.format = format;
    if (epoch) {
      this.time.dateTime = new Date(epoch * 1000).toISOString();
      this.time.title = `last activity: ${format === "absolute" ? when(epoch, "relative") : when(epoch, "absolute")}`;
    }
  }

  /** Stop while running, Continue once stopped; a button stays as it is while it still applies. */
  private drawActions(t: SidebarThread, who: string): void {
    // Workflow.stop stops runs of this kernel only: a run going on elsewhere offers no Stop.
    const want = t.status === "running" ? (t.liveness === "elsewhere" ? null : "stop") : t.status === "stopped" ? "continue" : null;
    for (const [kind, b] of this.actions) if (kind !== want) { b.remove(); this.actions.delete(kind); }
    if (want === null || this.actions.has(want)) return;
    const [label, aria, glyph] = want === "stop"
      ? ["Stop", `Stop ${who} (Workflow.stop)`, "stopped"]
      : ["Continue", `Continue ${who} from its last finished task (invoke(None, config))`, "play"];
    const b = h("button", { type: "button", class: `nbflow-sb-action nbflow-sb-${want} jp-mod-styled`,
      "data-testid": `nbflow-sb-${want}`, "aria-label": aria, title: aria }, icon(glyph), h("span", { text: label }));
    b.addEventListener("click", () => {
      b.disabled = true;
      if (!this.model.act(t.key, want)) b.disabled = false;
    });
    this.head.append(b);
    this.actions.set(want, b);
  }

  /** One form per open question, in the thread's order: new ones are built, closed ones go, the rest stay. */
  private drawQuestions(t: SidebarThread, who: string): void {
    const open = new Set(t.questions.map((q) => q.id));
    for (const [id, f] of this.forms) if (!open.has(id)) { f.el.remove(); this.forms.delete(id); }
    let at: Element | null = this.box.firstElementChild;
    for (const q of t.questions) {
      let f = this.forms.get(q.id);
      if (!f) {
        const answer = (m: Record<string, unknown>): boolean => this.model.answer(t.key, q.id, m);
        f = renderForm(compactForm(q), answer, {}, this.model.drafts(t.key, q.id));
        f.el.setAttribute("aria-label", `Answer ${who}: ${q.summary}`);
        f.el.dataset.summary = q.summary;
        this.forms.set(q.id, f);
      }
      if (f.el === at) at = at.nextElementSibling;
      else this.box.insertBefore(f.el, at);
    }
    this.box.hidden = open.size === 0;
    this.box.setAttribute("aria-label", `Questions of ${who}`);
  }

  /** The kernel refused an answer: say why on that question's form (on every form when it is not known). */
  showAnswerError(id: string | undefined, message: string, errors: { field: string; message: string }[]): boolean {
    const forms = id !== undefined && this.forms.has(id) ? [this.forms.get(id)!] : [...this.forms.values()];
    forms.forEach((f) => f.showErrors(message, errors));
    return forms.length > 0;
  }
}

/** A size for people: 812 B, 12.3 kB, 4.1 MB (as %nbflow threads prints it). */
function bytes(n: number): string {
  for (const [unit, size] of [["GB", 1e9], ["MB", 1e6], ["kB", 1e3]] as const) if (n >= size) return `${(n / size).toFixed(1)} ${unit}`;
  return `${n} B`;
}
