// The rows of a run view, windowed: the whole list lives in an array (in call order, diffed by key), but
// only the rows in view (plus an overscan) are in the DOM. A spacer keeps the scroll height of the whole
// list, so the scroll bar and scrolling behave as if every row were drawn. Small lists (≤ WINDOW_FROM rows)
// are drawn whole, with their natural heights (multi-line streamed messages); a windowed list gives every
// row one line of a fixed height (ROW_PX, set in the CSS too), which is what makes the window exact.
// Updating a 10,000-row view is then an array update plus ~100 rows of markup, whatever the list's size.

import { Row } from "./protocol";
import { duration, h } from "./dom";
import { conversationHtml } from "./conversation";
import { llmRowHtml, llmSig } from "./llm";

const ROW_ICON: Record<string, string> = { running: "running", ok: "ok", cached: "ok", error: "error", waiting: "waiting", stopped: "stopped" };

/** Above this many rows the list is windowed. */
export const WINDOW_FROM = 300;
/** Rows drawn above and below the visible ones. */
const OVERSCAN = 30;
/** Height of a windowed row (one line): `.nbflow-log[data-windowed="true"] .nbflow-entry` in widget.css. */
export const ROW_PX = 22;
/** Visible rows assumed while the list is not laid out yet (the box is 28em high). */
const DEFAULT_VISIBLE = 24;

function sortKey(key: string): [string, number[]] {
  const i = key.indexOf("|");
  const path = key.slice(i + 1);
  return [key.slice(0, i), /^[0-9.]+$/.test(path) ? path.split(".").map(Number) : [1 << 30]];
}

/** True when row key `a` comes before `b`: namespace, then numeric call position (as the kernel sorts). */
export function before(a: string, b: string): boolean {
  const [na, pa] = sortKey(a);
  const [nb, pb] = sortKey(b);
  if (na !== nb) return na < nb;
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) if (pa[i] !== pb[i]) return pa[i] < pb[i];
  return pa.length < pb.length;
}

export function esc(text: string): string {
  return text.replace(/[&<>"]/g, (c) => (c === "&" ? "&amp;" : c === "<" ? "&lt;" : c === ">" ? "&gt;" : "&quot;"));
}

/** A row's inner HTML (rows are plain markup: a window of rows is one innerHTML assignment). */
export function rowInner(r: Row): string {
  if (r.kind === "message") {
    return `<span class="nbflow-mark" data-icon="message"></span>${r.name ? `<span class="nbflow-task-name">${esc(r.name)}</span>` : ""}` +
      `<div class="nbflow-message">${esc(r.text)}</div>`;
  }
  let html = `<span class="nbflow-mark" data-icon="${ROW_ICON[r.state] ?? "question"}" title="${esc(r.state)}"></span>` +
    `<span class="nbflow-task-name">${esc(r.name)}</span>`;
  if (r.cached) html += `<span class="nbflow-badge nbflow-badge-cached">cached</span>`;
  if (r.replayed) html += `<span class="nbflow-badge nbflow-badge-replayed" title="This result was read back from the checkpoint, not computed again">from checkpoint</span>`;
  // A task that ran in this invocation keeps its duration after a resume read it back from the checkpoint.
  if (r.state !== "running" && r.duration) html += `<span class="nbflow-duration">${esc(duration(r.duration))}</span>`;
  if ((r.state === "ok" || r.state === "cached") && r.preview) html += `<span class="nbflow-arrow">→</span><code class="nbflow-preview">${esc(r.preview)}</code>`;
  if ((r.state === "ok" || r.state === "cached") && r.chat?.length) {  // the result read as chat messages
    html += r.chat.length === 1 ? `<div class="nbflow-row-chat">${conversationHtml(r.chat)}</div>`
      : `<details class="nbflow-row-chat"><summary>${r.chat.length} messages</summary>${conversationHtml(r.chat)}</details>`;
  }
  if (r.state === "error") html += `<span class="nbflow-error-text">${esc(r.error)}</span>`;
  if (r.state === "stopped") html += `<span class="nbflow-muted nbflow-abandoned">${esc(r.error)}</span>`;
  if (r.state === "waiting") html += `<span class="nbflow-muted">waiting for an answer</span>`;
  // A result drawn as a conversation shows its tool calls there: the model's part adds usage and the stream.
  const asChat = !!r.chat?.length && (r.state === "ok" || r.state === "cached");
  return html + llmRowHtml(asChat ? { ...r, tools: undefined } : r);
}

function rowHtml(r: Row, index: number): string {
  const pad = r.depth ? ` style="padding-left:${r.depth * 1.2 + 0.4}em"` : "";
  return `<div class="nbflow-entry" role="listitem" aria-setsize="-1" aria-posinset="${index + 1}" data-key="${esc(r.key)}" ` +
    `data-state="${r.state}" data-kind="${r.kind}"${pad}>${rowInner(r)}</div>`;
}

function rowSig(r: Row): string {
  return `${r.state}|${r.preview}|${r.error}|${r.duration}|${r.cached}|${r.replayed}|${r.text}|${r.depth}|${r.chat ? JSON.stringify(r.chat) : ""}|${llmSig(r)}`;
}

/** The row list of one run view (see the module comment). `el` is the scroll box. */
export class RowList {
  readonly el: HTMLElement;
  private readonly spacer: HTMLElement;
  private readonly win: HTMLElement;
  private rows: Row[] = [];
  private index = new Map<string, number>();
  private drawn = new Map<string, { sig: string; el: HTMLElement }>();
  private first = 0;
  private last = -1;            // the window drawn: rows first..last
  private readonly rowPx = ROW_PX;
  private frame = 0;

  constructor() {
    this.win = h("div", { class: "nbflow-log-window" });
    this.spacer = h("div", { class: "nbflow-log-spacer" }, this.win);
    this.el = h("div", { class: "nbflow-log", role: "list" }, this.spacer);
    this.el.addEventListener("scroll", () => {
      if (!this.windowed() || this.frame) return;
      this.frame = requestAnimationFrame(() => {
        this.frame = 0;
        this.draw(false);
      });
    }, { passive: true });
  }

  get size(): number {
    return this.rows.length;
  }

  windowed(): boolean {
    return this.rows.length > WINDOW_FROM;
  }

  /** Every row, in call order (what a new view of the same thread starts from). */
  all(): Row[] {
    return this.rows.slice();
  }

  /** Replace every row (a snapshot; `rows` in call order). */
  reset(rows: Row[]): void {
    this.rows = rows.slice();
    this.index = new Map(rows.map((r, i) => [r.key, i]));
    this.draw(true);
  }

  /** Update rows in place by key, add new ones in call order; redraws only what is in the window. */
  upsert(changed: Row[]): void {
    let moved = false;
    let touched = false;
    for (const r of changed) {
      const at = this.index.get(r.key);
      if (at !== undefined) {
        this.rows[at] = r;
        if (at >= this.first && at <= this.last) touched = true;
        continue;
      }
      const n = this.rows.length;
      if (n === 0 || !before(r.key, this.rows[n - 1].key)) {
        this.index.set(r.key, n);
        this.rows.push(r);
        if (n <= this.last + 1) touched = true;
        moved = moved || n <= this.last;
        continue;
      }
      let lo = 0;
      let hi = n - 1;  // first row that r goes before
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (before(r.key, this.rows[mid].key)) hi = mid;
        else lo = mid + 1;
      }
      this.rows.splice(lo, 0, r);
      for (let i = lo; i < this.rows.length; i++) this.index.set(this.rows[i].key, i);
      moved = true;
    }
    if (touched || moved || this.windowed() !== this.drawnWindowed) this.draw(moved);
    else this.sizeSpacer();
  }

  private drawnWindowed = false;

  private sizeSpacer(): void {
    this.spacer.style.height = this.windowed() ? `${this.rows.length * this.rowPx}px` : "";
  }

  /** Draw the window (everything when the list is small). `all` redraws every drawn row from scratch. */
  private draw(all: boolean): void {
    const windowed = this.windowed();
    if (windowed !== this.drawnWindowed) {
      this.drawnWindowed = windowed;
      this.el.dataset.windowed = String(windowed);
      all = true;
    }
    let first = 0;
    let last = this.rows.length - 1;
    if (windowed) {
      const view = this.el.clientHeight ? Math.ceil(this.el.clientHeight / this.rowPx) : DEFAULT_VISIBLE;
      const top = Math.floor(this.el.scrollTop / this.rowPx);
      first = Math.max(0, Math.min(top, this.rows.length - view) - OVERSCAN);
      last = Math.min(this.rows.length - 1, top + view + OVERSCAN);
    }
    this.sizeSpacer();
    this.win.style.transform = windowed ? `translateY(${first * this.rowPx}px)` : "";
    if (all) {
      this.win.innerHTML = this.rows.slice(first, last + 1).map((r, i) => rowHtml(r, first + i)).join("");
      this.drawn = new Map();
      const els = this.win.children;
      for (let i = first; i <= last; i++) this.drawn.set(this.rows[i].key, { sig: rowSig(this.rows[i]), el: els[i - first] as HTMLElement });
    } else {
      // Reuse the elements of rows still in the window (only changed rows are redrawn).
      const next = new Map<string, { sig: string; el: HTMLElement }>();
      const els: HTMLElement[] = [];
      const fresh: number[] = [];
      for (let i = first; i <= last; i++) {
        const r = this.rows[i];
        const have = this.drawn.get(r.key);
        const sig = rowSig(r);
        if (have && have.sig === sig) {
          have.el.setAttribute("aria-posinset", String(i + 1));
          next.set(r.key, have);
          els.push(have.el);
        } else {
          fresh.push(i);
          els.push(null as unknown as HTMLElement);
        }
      }
      if (fresh.length) {
        const tmp = document.createElement("div");
        tmp.innerHTML = fresh.map((i) => rowHtml(this.rows[i], i)).join("");
        fresh.forEach((i) => {
          const el = tmp.children[0] as HTMLElement;
          els[i - first] = el;
          next.set(this.rows[i].key, { sig: rowSig(this.rows[i]), el });
          tmp.removeChild(el);
        });
      }
      this.drawn = next;
      this.win.replaceChildren(...els);
    }
    this.first = first;
    this.last = last;
    this.el.dataset.rows = String(this.rows.length);
    this.el.dataset.drawn = String(last - first + 1);
  }
}
