// The Workflows sidebar's state, framework-free: the threads of the notebook in focus (in the order
// shown), their open questions and what was typed into their forms (drafts, one per question), which
// thread is selected, and the link's state. It takes the kernel's messages (receive) and turns the
// view's intents into requests (answer, stop, ...); it emits a change for each thing that changed,
// and the view (view.ts) draws from it. Nothing here touches the DOM.

import { Drafts } from "../../core/forms";
import { FieldError, FormSpec, JsonValue, SidebarQuestion, SidebarThread, SidebarToFrontend } from "../../protocol.gen";
import type { LinkState, SidebarRequest } from "../kernel";

/** What changed; the view redraws that part only. */
export type SidebarChange =
  | { kind: "link" }                       // link state or title: the whole list was cleared or refilled
  | { kind: "order" }                      // threads appeared, went, or were reordered (a full listing)
  | { kind: "thread"; key: string }        // one thread's status, time, checkpointer or questions
  | { kind: "selected"; key: string | null; was: string | null }
  | { kind: "times" }                      // the time format changed: redraw every "last activity"
  | { kind: "error"; key: string; request: string | null; message: string; id?: string; errors: FieldError[] }
  | { kind: "timeline"; key: string; code: string };  // the kernel sent the code that opens a thread's timeline

export type TimeFormat = "relative" | "absolute";

/** Where requests go: the kernel link of the notebook in focus (false when nothing could be sent). */
export type Send = (request: SidebarRequest) => boolean;

export class SidebarModel {
  private _state: LinkState = "nokernel";
  private _title = "No notebook";
  private _threads = new Map<string, SidebarThread>();
  private _order: string[] = [];
  /** Typed-but-unsent answers: thread key → question id → that form's drafts (one per form, never shared). */
  private _drafts = new Map<string, Record<string, Drafts>>();
  private _selected: string | null = null;
  private _timeFormat: TimeFormat = "relative";
  private _send: Send | null = null;
  private listeners = new Set<(change: SidebarChange) => void>();
  /** Milliseconds the last kernel message took to apply and draw (read by the browser bench). */
  lastUpdateMs = 0;

  // ------------------------------------------------------------------ reading
  get state(): LinkState { return this._state; }
  get title(): string { return this._title; }
  get timeFormat(): TimeFormat { return this._timeFormat; }
  get selected(): string | null { return this._selected; }
  /** The thread keys, in the order shown. */
  get order(): readonly string[] { return this._order; }
  thread(key: string): SidebarThread | undefined { return this._threads.get(key); }

  /** The drafts of one question's form (kept while the question is open, whatever is redrawn). */
  drafts(key: string, questionId: string): Drafts {
    let byQuestion = this._drafts.get(key);
    if (!byQuestion) this._drafts.set(key, byQuestion = {});
    return (byQuestion[questionId] ??= {});
  }

  /** The totals under the title. */
  counts(): { threads: number; running: number; waiting: number } {
    let waiting = 0, running = 0;
    for (const t of this._threads.values()) {
      waiting += t.questions.length;
      if (t.status === "running") running++;
    }
    return { threads: this._threads.size, running, waiting };
  }

  // ------------------------------------------------------------------ changes
  /** Be told of every change; returns the function that stops it. */
  subscribe(listener: (change: SidebarChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(change: SidebarChange): void {
    for (const l of [...this.listeners]) l(change);
  }

  // ------------------------------------------------------------------ inputs
  /** Follow another notebook (its title and a way to send to its kernel), or none. */
  follow(title: string | null, send: Send | null, state: LinkState): void {
    this._title = title === null ? "No notebook in focus" : title;
    this._send = send;
    this.clear();
    this._state = state;
    this.emit({ kind: "link" });
    if (state === "ready") this.refresh();
  }

  /** The link to the kernel changed state; anything but `ready` empties the list. */
  setState(state: LinkState): void {
    if (state === this._state) return;
    this._state = state;
    if (state !== "ready") this.clear();
    this.emit({ kind: "link" });
  }

  setTimeFormat(format: TimeFormat): void {
    if (format === this._timeFormat) return;
    this._timeFormat = format;
    this.emit({ kind: "times" });
  }

  private clear(): void {
    this._threads.clear();
    this._order = [];
    this._selected = null;
  }

  /** Apply a message from the kernel. */
  receive(m: SidebarToFrontend): void {
    if (m.kind === "threads") {
      this._threads = new Map(m.threads.map((t) => [t.key, t]));
      this._order = m.threads.map((t) => t.key);
      for (const t of m.threads) this.pruneDrafts(t);
      for (const k of [...this._drafts.keys()]) if (!this._threads.has(k)) this._drafts.delete(k);
      if (this._selected !== null && !this._threads.has(this._selected)) this._selected = null;
      this.emit({ kind: "order" });
    } else if (m.kind === "thread") {
      const t = m.thread;
      const isNew = !this._threads.has(t.key);
      this._threads.set(t.key, t);
      this.pruneDrafts(t);
      if (isNew) {
        this._order = [t.key, ...this._order];  // a thread that just started or started waiting: on top
        this.emit({ kind: "order" });
      } else {
        this.emit({ kind: "thread", key: t.key });
      }
    } else if (m.kind === "timeline_code") {
      this.emit({ kind: "timeline", key: m.key, code: m.code });
    } else if (m.kind === "error") {
      this.emit({ kind: "error", key: m.key, request: m.request, message: m.message, id: m.id, errors: m.errors ?? [] });
    }
  }

  /** Drafts of questions no longer open go (the question was answered, here or elsewhere). */
  private pruneDrafts(t: SidebarThread): void {
    const byQuestion = this._drafts.get(t.key);
    if (!byQuestion) return;
    if (!t.questions.length) { this._drafts.delete(t.key); return; }
    for (const id of Object.keys(byQuestion)) if (!t.questions.some((q) => q.id === id)) delete byQuestion[id];
  }

  // ------------------------------------------------------------------ intents (the view calls these)
  /** Ask the kernel for the whole list again. */
  refresh(): boolean {
    return this._send?.({ kind: "list" }) ?? false;
  }

  /** Select a thread and ask for its timeline (opened in the main area when the code comes back). */
  openTimeline(key: string): boolean {
    const t = this._threads.get(key);
    if (!t) return false;
    this.select(key);
    return this._send?.({ kind: "timeline", workflow: t.workflow, thread_id: t.thread_id }) ?? false;
  }

  select(key: string | null): void {
    if (key === this._selected) return;
    const was = this._selected;
    this._selected = key;
    this.emit({ kind: "selected", key, was });
  }

  /** Stop a running thread, or continue a stopped one. */
  act(key: string, kind: "stop" | "continue"): boolean {
    const t = this._threads.get(key);
    return t ? this._send?.({ kind, workflow: t.workflow, thread_id: t.thread_id }) ?? false : false;
  }

  /** Answer one question with what its form read ({value} or {option}). */
  answer(key: string, questionId: string, answer: { value?: unknown; option?: unknown }): boolean {
    const t = this._threads.get(key);
    if (!t) return false;
    const request: SidebarRequest = { kind: "answer", workflow: t.workflow, thread_id: t.thread_id, id: questionId };
    if ("value" in answer) {
      if (!isJson(answer.value)) return false;
      request.value = answer.value;
    }
    if (typeof answer.option === "number") request.option = answer.option;
    return this._send?.(request) ?? false;
  }
}

/** True when `v` can go on the wire as it is (what a form reads always can). */
function isJson(v: unknown): v is JsonValue {
  if (v === null || typeof v === "string" || typeof v === "boolean") return true;
  if (typeof v === "number") return Number.isFinite(v);
  if (Array.isArray(v)) return v.every(isJson);
  return typeof v === "object" && Object.getPrototypeOf(v) === Object.prototype && Object.values(v).every(isJson);
}

/**
 * The run view's form for a question, headed by its one-line text (the question string, else compact
 * JSON: the kernel's forms.question_text) instead of "Question from <task>"; the value's display is
 * left out when it says nothing more than that line.
 */
export function compactForm(q: SidebarQuestion): FormSpec {
  const spec: FormSpec = { ...q.form };
  if (spec.kind === "inbox") return spec;
  const d = spec.display;
  const same = (text: string | undefined): boolean => (text ?? "").trim() === q.summary.trim();
  if (d && ((d.type === "text" && same(d.text)) || (d.type === "fields" && d.fields?.length === 1 && same(d.fields[0].text)))) {
    spec.display = { type: "none" };
  }
  if (!spec.title) spec.title = q.summary;
  return spec;
}

/** "3 min ago" (relative) or the local date and time (absolute); "—" when never. */
export function when(epoch: number | null, format: TimeFormat, now = Date.now() / 1000): string {
  if (!epoch) return "—";
  if (format === "absolute") return new Date(epoch * 1000).toLocaleString();
  const s = Math.max(0, now - epoch);
  if (s < 60) return `${Math.round(s)} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return new Date(epoch * 1000).toLocaleDateString();
}
