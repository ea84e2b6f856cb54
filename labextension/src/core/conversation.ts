// A conversation: chat messages (the kernel's notebook/conversation.py view-model) drawn as a chat.
// Each message shows its role, its content as markdown (a small, safe subset: paragraphs, fenced and
// inline code, bold, italics, lists, headings, links shown as text + URL), its tool calls as structured
// rows with arguments and results (a failed tool marked), and folds a long content behind a <details>.
// Self-contained: the run view's result and rows, the timeline's state, the inbox and the saved view use
// it; streamed tokens can append to the last message by calling `ConversationView.update` again (messages
// are diffed by index and signature, so only changed ones are redrawn).

import { ChatMessage, ToolCallView } from "./protocol";

const ROLE_LABEL: Record<string, string> = { user: "User", assistant: "Assistant", system: "System", tool: "Tool" };

function esc(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}

/** Inline markdown of one (already split) line: code spans first (their content is literal), then bold, italics. */
function inline(text: string): string {
  const parts = text.split(/(`[^`]+`)/g);
  return parts.map((p) => {
    if (p.length > 1 && p.startsWith("`") && p.endsWith("`")) return `<code>${esc(p.slice(1, -1))}</code>`;
    let s = esc(p);
    s = s.replace(/\*\*([^*]+)\*\*/g, "<strong>$1</strong>").replace(/__([^_]+)__/g, "<strong>$1</strong>");
    s = s.replace(/(^|[^*\w])\*([^*\s][^*]*)\*/g, "$1<em>$2</em>").replace(/(^|[^_\w])_([^_\s][^_]*)_/g, "$1<em>$2</em>");
    s = s.replace(/\[([^\]]+)\]\((https?:[^)\s]+)\)/g, '$1 <span class="nbflow-md-url">($2)</span>');
    return s;
  }).join("");
}

/** Markdown (a safe subset) as HTML: everything is escaped; no raw HTML, no images, no live links. */
export function markdown(text: string): string {
  const out: string[] = [];
  const lines = text.split("\n");
  let para: string[] = [];
  let list: { tag: string; items: string[] } | null = null;
  const flush = () => {
    if (para.length) out.push(`<p>${para.map(inline).join("<br>")}</p>`);
    para = [];
    if (list) out.push(`<${list.tag}>${list.items.map((i) => `<li>${inline(i)}</li>`).join("")}</${list.tag}>`);
    list = null;
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const fence = /^\s*```(\S*)/.exec(line);
    if (fence) {
      flush();
      const code: string[] = [];
      for (i++; i < lines.length && !/^\s*```/.test(lines[i]); i++) code.push(lines[i]);
      out.push(`<pre class="nbflow-md-code"><code>${esc(code.join("\n"))}</code></pre>`);
      continue;
    }
    const heading = /^(#{1,6})\s+(.*)$/.exec(line);
    const bullet = /^\s*[-*+]\s+(.*)$/.exec(line);
    const numbered = /^\s*\d+[.)]\s+(.*)$/.exec(line);
    if (heading) {
      flush();
      out.push(`<div class="nbflow-md-h">${inline(heading[2])}</div>`);
    } else if (bullet || numbered) {
      const tag = bullet ? "ul" : "ol";
      if (para.length || (list && list.tag !== tag)) flush();
      list ??= { tag, items: [] };
      list.items.push((bullet ?? numbered)![1]);
    } else if (!line.trim()) {
      flush();
    } else {
      if (list) flush();
      para.push(line);
    }
  }
  flush();
  return out.join("");
}

function toolCallHtml(c: ToolCallView): string {
  const state = c.answered ? (c.error ? "error" : "ok") : "pending";
  const result = c.answered
    ? `<div class="nbflow-tool-result" data-testid="nbflow-tool-result"><span class="nbflow-tool-arrow">${c.error ? "✗ error" : "→"}</span> <code>${esc(c.result)}</code></div>`
    : "";
  return `<div class="nbflow-tool-call" data-testid="nbflow-tool-call" data-state="${state}"${c.error ? ' data-error="true"' : ""}>` +
    `<div class="nbflow-tool-head"><span class="nbflow-tool-icon" aria-hidden="true">⚙</span> <b>${esc(c.name)}</b>` +
    `${c.id ? ` <span class="nbflow-muted nbflow-tool-id">${esc(c.id)}</span>` : ""}</div>` +
    `<pre class="nbflow-tool-args">${esc(c.args)}</pre>${result}</div>`;
}

/** One message's markup. */
export function messageHtml(m: ChatMessage): string {
  const label = ROLE_LABEL[m.role] ?? m.role;
  const name = m.name ? ` <span class="nbflow-muted">${esc(m.name)}</span>` : "";
  const err = m.error ? ' <span class="nbflow-error-text">✗ tool error</span>' : "";
  let body = m.content ? `<div class="nbflow-msg-content">${markdown(m.content)}</div>` : "";
  if (m.content && m.long) {
    const head = esc(m.content.slice(0, 140).replace(/\s+/g, " "));
    body = `<details class="nbflow-msg-fold"><summary>${head}… <span class="nbflow-muted">(${m.content.length} characters)</span></summary>${body}</details>`;
  }
  return `<div class="nbflow-msg" role="listitem" data-role="${esc(m.role)}"${m.error ? ' data-error="true"' : ""}>` +
    `<div class="nbflow-msg-role">${esc(label)}${name}${err}</div>${body}${(m.tool_calls ?? []).map(toolCallHtml).join("")}</div>`;
}

function sig(m: ChatMessage): string {
  return JSON.stringify(m);
}

/** A conversation's markup in one string (rows draw markup, not elements). */
export function conversationHtml(msgs: ChatMessage[]): string {
  return `<div class="nbflow-chat" role="list" data-testid="nbflow-chat">${msgs.map(messageHtml).join("")}</div>`;
}

/** A drawn conversation, updated in place: a new message appends one element; a changed one is redrawn. */
export class ConversationView {
  readonly el: HTMLElement;
  private sigs: string[] = [];

  constructor() {
    this.el = document.createElement("div");
    this.el.className = "nbflow-chat";
    this.el.setAttribute("role", "list");
    this.el.dataset.testid = "nbflow-chat";
  }

  update(msgs: ChatMessage[]): void {
    const t0 = performance.now();
    const kids = this.el.children;
    if (!this.sigs.length && msgs.length) {  // the first drawing: one markup string, parsed once
      this.el.innerHTML = msgs.map(messageHtml).join("");
      this.sigs = msgs.map(sig);
      this.el.dataset.messages = String(msgs.length);
      this.el.dataset.updateMs = (performance.now() - t0).toFixed(2);
      return;
    }
    for (let i = 0; i < msgs.length; i++) {
      const s = sig(msgs[i]);
      if (this.sigs[i] === s) continue;
      const tpl = document.createElement("template");
      tpl.innerHTML = messageHtml(msgs[i]);
      const node = tpl.content.firstElementChild!;
      if (i < kids.length) this.el.replaceChild(node, kids[i]);
      else this.el.append(node);
      this.sigs[i] = s;
    }
    while (kids.length > msgs.length) this.el.lastElementChild!.remove();
    this.sigs.length = msgs.length;
    this.el.dataset.messages = String(msgs.length);
    this.el.dataset.updateMs = (performance.now() - t0).toFixed(2);
  }
}

/** A conversation element drawn once. */
export function renderConversation(msgs: ChatMessage[]): HTMLElement {
  const v = new ConversationView();
  v.update(msgs);
  return v.el;
}
