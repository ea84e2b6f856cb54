// The Workflows sidebar: for the notebook in focus, its threads (name, status,
// last activity, checkpointer) and every question waiting for an answer,
// answerable here with the run view's own forms (../forms.ts); Stop for a
// running thread, Continue for a stopped one; a click on a thread opens its
// timeline in the main area. Every control is a native button or form field
// (reachable with Tab) with a name for screen readers.

import { Widget } from "@lumino/widgets";
import { Drafts, FormHandle, renderForm } from "../forms";
import { icon } from "../icons";
import { FormSpec } from "../protocol";
import { STATUS_ICON, statusWords } from "../status";
import { FromKernel, KernelLink, LinkState, SidebarQuestion, SidebarThread } from "./kernel";

export interface SidebarOptions {
  /** Open the timeline of a thread (the plugin runs the code the kernel sent in the main area). */
  openTimeline(link: KernelLink, code: string, title: string): void;
  timeFormat(): "relative" | "absolute";
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, cls = "", text?: string, attrs: Record<string, string> = {}) {
  const n = document.createElement(tag);
  if (cls) n.className = cls;
  if (text !== undefined) n.textContent = text;
  for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, v);
  return n;
}

export function when(epoch: number | null, format: "relative" | "absolute", now = Date.now() / 1000): string {
  if (!epoch) return "—";
  if (format === "absolute") return new Date(epoch * 1000).toLocaleString();
  const s = Math.max(0, now - epoch);
  if (s < 60) return `${Math.round(s)} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return new Date(epoch * 1000).toLocaleDateString();
}

interface Row {
  el: HTMLElement;
  sig: string;
  forms: FormHandle[];
}

export class WorkflowsSidebar extends Widget {
  private link: KernelLink | null = null;
  private title_ = el("div", "nbflow-sb-title", "No notebook");
  private notice = el("div", "nbflow-sb-notice", "", { role: "status" });
  private summary = el("div", "nbflow-sb-summary", "", { "aria-live": "polite" });
  private list = el("ul", "nbflow-sb-list", undefined, { "aria-label": "Threads" });
  private rows = new Map<string, Row>();
  private threads = new Map<string, SidebarThread>();
  /** Typed-but-unsent answers: thread key → question id → that form's drafts (one per form, never shared). */
  private drafts = new Map<string, Record<string, Drafts>>();
  /** Milliseconds the last kernel message took to apply (read by the browser bench). */
  lastUpdateMs = 0;

  constructor(private readonly options: SidebarOptions) {
    super();
    this.id = "nbflow-workflows";
    this.addClass("nbflow-sidebar");
    this.title.caption = "nbflow workflows";
    this.node.setAttribute("role", "region");
    this.node.setAttribute("aria-label", "nbflow workflows");
    const head = el("header", "nbflow-sb-head");
    const refresh = el("button", "nbflow-sb-refresh jp-mod-styled", "Refresh",
      { type: "button", "aria-label": "Refresh the list of threads", "data-testid": "nbflow-sb-refresh" });
    refresh.addEventListener("click", () => this.link?.send({ kind: "list" }));
    head.append(el("h2", "nbflow-sb-h", "Workflows"), refresh);
    this.node.append(head, this.title_, this.notice, this.summary, this.list);
    this.showState("nokernel");
    // "3 min ago" stays true while nothing changes.
    this.clock = window.setInterval(() => {
      if (this.isVisible) for (const [k, r] of this.rows) { const t = this.threads.get(k); if (t) this.refreshTime(r.el, t); }
    }, 30_000);
  }

  private clock = 0;

  dispose(): void {
    window.clearInterval(this.clock);
    super.dispose();
  }

  /** Follow another notebook's kernel (or none). */
  setLink(link: KernelLink | null, title: string): void {
    if (this.link === link) return;
    this.link?.stateChanged.disconnect(this.onState, this);
    this.link?.message.disconnect(this.onMessage, this);
    this.link = link;
    this.title_.textContent = link ? title : "No notebook in focus";
    this.clearRows();
    if (link) {
      link.stateChanged.connect(this.onState, this);
      link.message.connect(this.onMessage, this);
      this.showState(link.state);
      link.send({ kind: "list" });
    } else {
      this.showState("nokernel");
    }
  }

  private onState(_: KernelLink, s: LinkState): void {
    this.showState(s);
  }

  private showState(s: LinkState): void {
    this.node.dataset.state = s;
    if (s === "unloaded") {
      this.notice.replaceChildren("nbflow is not loaded in this notebook's kernel. Run ",
        el("code", "", "%load_ext nbflow"), " in a cell to load it.");
    } else {
      this.notice.textContent = s === "nokernel" ? "Open a notebook with a running kernel to see its workflows." :
        s === "connecting" ? "Connecting to the kernel…" : "";
    }
    this.notice.hidden = s === "ready";
    if (s !== "ready") this.clearRows();
  }

  private clearRows(): void {
    this.rows.clear();
    this.threads.clear();
    this.list.replaceChildren();
    this.summary.textContent = "";
  }

  private onMessage(_: KernelLink, m: FromKernel): void {
    const t0 = performance.now();
    if (m.kind === "threads") {
      this.threads = new Map(m.threads.map((t) => [t.key, t]));
      this.render(m.threads.map((t) => t.key));
    } else if (m.kind === "thread") {
      const isNew = !this.threads.has(m.thread.key);
      this.threads.set(m.thread.key, m.thread);
      if (isNew) this.render([m.thread.key, ...[...this.threads.keys()].filter((k) => k !== m.thread.key)]);
      else this.updateRow(m.thread);
    } else if (m.kind === "timeline_code") {
      if (this.link) this.options.openTimeline(this.link, m.code, m.key);
    } else if (m.kind === "error") {
      const row = this.rows.get(m.key);
      const forms = row?.forms ?? [];
      if (m.request === "answer" && forms.length) forms.forEach((f) => f.showErrors(m.message, []));
      else this.say(m.message, row?.el);
    }
    if (m.kind === "threads" || m.kind === "thread") {  // the list's own updates (not an "ok" reply)
      this.lastUpdateMs = performance.now() - t0;
      this.node.dataset.lastUpdateMs = this.lastUpdateMs.toFixed(2);
    }
  }

  private say(text: string, where?: HTMLElement): void {
    const note = el("div", "nbflow-sb-error", text, { role: "alert" });
    (where ?? this.notice).append(note);
    if (!where) this.notice.hidden = false;
    setTimeout(() => note.remove(), 8000);
  }

  private render(order: string[]): void {
    const keep = new Set(order);
    for (const [k, r] of this.rows) if (!keep.has(k)) { r.el.remove(); this.rows.delete(k); }
    const frag = document.createDocumentFragment();
    for (const k of order) {
      const t = this.threads.get(k)!;
      let row = this.rows.get(k);
      if (!row || row.sig !== sig(t)) row = this.build(t);
      frag.append(row.el);
    }
    this.list.replaceChildren(frag);
    this.updateSummary();
  }

  private updateRow(t: SidebarThread): void {
    const old = this.rows.get(t.key);
    if (old && old.sig === sig(t)) return this.refreshTime(old.el, t);
    const focus = old ? focusedControl(old.el) : null;
    const row = this.build(t);
    if (old) old.el.replaceWith(row.el);
    else this.list.prepend(row.el);
    if (focus) refocus(row.el, focus);
    this.updateSummary();
  }

  private updateSummary(): void {
    let waiting = 0, running = 0;
    for (const t of this.threads.values()) {
      waiting += t.questions.length;
      if (t.status === "running") running++;
    }
    const n = this.threads.size;
    this.summary.textContent = n === 0 ? "No threads yet: run a workflow with a checkpointer." :
      `${n} thread${n === 1 ? "" : "s"} · ${running} running · ${waiting} question${waiting === 1 ? "" : "s"} waiting`;
  }

  private refreshTime(row: HTMLElement, t: SidebarThread): void {
    const time = row.querySelector(".nbflow-sb-time");
    if (time) setTime(time as HTMLTimeElement, t.last_activity, this.options.timeFormat());
  }

  /** Redraw every "last activity" (the time format setting changed). */
  refreshTimes(): void {
    for (const [k, r] of this.rows) {
      const t = this.threads.get(k);
      if (t) this.refreshTime(r.el, t);
    }
  }

  private build(t: SidebarThread): Row {
    const words = statusWords(t.status);
    const who = `${t.workflow} thread ${t.thread_id}`;
    const li = el("li", "nbflow-sb-thread", undefined,
      { "data-key": t.key, "data-status": t.status, "data-workflow": t.workflow, "data-thread-id": t.thread_id,
        "aria-label": `${who}, ${words}` });
    const head = el("div", "nbflow-sb-row");
    const asks = t.questions.length ? `, ${t.questions.length === 1 ? "asks" : `asks ${t.questions.length} questions, first`}: ${t.questions[0].summary}` : "";
    const open = el("button", "nbflow-sb-open", undefined,
      { type: "button", "data-testid": "nbflow-sb-open", title: "Open this thread's timeline",
        "aria-label": `${who}, ${words}${asks}. Open its timeline` });
    open.append(el("span", "nbflow-sb-name", t.workflow), el("span", "nbflow-sb-tid", t.thread_id));
    open.addEventListener("click", () => this.link?.send({ kind: "timeline", workflow: t.workflow, thread_id: t.thread_id }));
    // The run view's status pill (same words, icon and colours: ../status.ts, widget.css).
    const status = el("span", "nbflow-status nbflow-sb-status", undefined, { "data-status": t.status, "data-testid": "nbflow-sb-status" });
    status.append(icon(STATUS_ICON[t.status] ?? "superseded"), el("span", "nbflow-status-text", words));
    head.append(open);
    const meta = el("div", "nbflow-sb-meta");
    const time = el("time", "nbflow-sb-time");
    setTime(time, t.last_activity, this.options.timeFormat());
    meta.append(status, time, el("span", "nbflow-sb-saver", t.checkpointer, { title: "checkpointer" }));
    const action = (label: string, kind: string, testid: string, aria: string, glyph: string): void => {
      const b = el("button", `nbflow-sb-action nbflow-sb-${kind} jp-mod-styled`, undefined,
        { type: "button", "data-testid": testid, "aria-label": aria, title: aria });
      b.append(icon(glyph), el("span", "", label));
      b.addEventListener("click", () => {
        b.disabled = true;
        if (!this.link?.send({ kind, workflow: t.workflow, thread_id: t.thread_id })) b.disabled = false;
      });
      head.append(b);
    };
    if (t.status === "running") action("Stop", "stop", "nbflow-sb-stop", `Stop ${who} (Workflow.stop)`, "stopped");
    if (t.status === "stopped") {
      action("Continue", "continue", "nbflow-sb-continue",
        `Continue ${who} from its last finished task (invoke(None, config))`, "play");
    }
    li.append(head, meta);
    const forms: FormHandle[] = [];
    if (t.questions.length) {
      const drafts = this.drafts.get(t.key) ?? {};
      this.drafts.set(t.key, drafts);
      for (const id of Object.keys(drafts)) if (!t.questions.some((q) => q.id === id)) delete drafts[id];
      const box = el("div", "nbflow-sb-questions", undefined, { role: "group", "aria-label": `Questions of ${who}` });
      for (const q of t.questions) {
        const send = (m: Record<string, unknown>): boolean => {
          const { kind: _k, v: _v, ...answer } = m;
          return this.link?.send({ kind: "answer", workflow: t.workflow, thread_id: t.thread_id, ...answer }) ?? false;
        };
        drafts[q.id] ??= {};
        const f = renderForm(compactForm(q), send, {}, drafts[q.id]);
        f.el.setAttribute("aria-label", `Answer ${who}: ${q.summary}`);
        f.el.dataset.summary = q.summary;
        forms.push(f);
        box.append(f.el);
      }
      li.append(box);
    } else {
      this.drafts.delete(t.key);
    }
    const row = { el: li, sig: sig(t), forms };
    this.rows.set(t.key, row);
    return row;
  }
}

/** The form control that has the focus inside `root`: its question and control key, and the caret. */
function focusedControl(root: HTMLElement): { id: string; key: string; caret: number | null } | null {
  const active = document.activeElement as HTMLInputElement | null;
  if (!active || !root.contains(active)) return null;
  const id = active.closest("form")?.getAttribute("data-interrupt-id");
  const key = active.getAttribute("data-field") ?? active.getAttribute("data-testid");
  if (!id || !key) return null;
  return { id, key, caret: typeof active.selectionStart === "number" ? active.selectionStart : null };
}

/** Put the focus (and caret) back on the same control of a rebuilt row, so typing goes on there. */
function refocus(root: HTMLElement, at: { id: string; key: string; caret: number | null }): void {
  for (const form of root.querySelectorAll("form")) {
    if (form.getAttribute("data-interrupt-id") !== at.id) continue;
    for (const c of form.querySelectorAll<HTMLInputElement>("input, textarea, select, button")) {
      if ((c.getAttribute("data-field") ?? c.getAttribute("data-testid")) !== at.key) continue;
      c.focus();
      if (at.caret !== null && typeof c.setSelectionRange === "function" && c.type !== "checkbox") {
        try { c.setSelectionRange(at.caret, at.caret); } catch { /* not a text control */ }
      }
      return;
    }
  }
}

/** Show `epoch` in `format`; the other format goes in the tooltip, the exact instant in `datetime`. */
function setTime(node: HTMLTimeElement, epoch: number | null, format: "relative" | "absolute"): void {
  node.textContent = when(epoch, format);
  node.dataset.format = format;
  if (epoch) {
    node.dateTime = new Date(epoch * 1000).toISOString();
    node.title = `last activity: ${format === "absolute" ? when(epoch, "relative") : when(epoch, "absolute")}`;
  }
}

/**
 * The run view's form for a question, headed by its one-line text (the question string, else compact
 * JSON: the kernel's forms.question_text) instead of "Question from <task>"; the value's display is
 * left out when it says nothing more than that line.
 */
export function compactForm(q: SidebarQuestion): FormSpec {
  const spec = { ...(q.form as unknown as FormSpec) };
  if (spec.kind === "inbox") return spec;
  const d = spec.display;
  const same = (text: string | undefined): boolean => (text ?? "").trim() === q.summary.trim();
  if (d && ((d.type === "text" && same(d.text)) || (d.type === "fields" && d.fields?.length === 1 && same(d.fields[0].text)))) {
    spec.display = { type: "none" };
  }
  if (!spec.title) spec.title = q.summary;
  return spec;
}

/** What a row shows besides its time (rebuilt only when this changes, so typing in a form survives updates). */
function sig(t: SidebarThread): string {
  return `${t.status}|${t.checkpointer}|${t.questions.map((q) => q.id).join(",")}`;
}
