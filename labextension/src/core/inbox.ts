// The inbox: threads waiting for input (newest first) with their forms; answered threads stay, collapsed,
// with the answer and then the result, and a link to the thread's run view. Items are diffed by key:
// a card is built once and updated in place, so half-typed answers survive every update.

import { AnyModel, Connect } from "./model";
import { InboxItem, ToFrontend, msg } from "./protocol";
import { append, clear, h } from "./dom";
import { icon } from "./icons";
import { Drafts } from "./forms";
import { QuestionList, questionList } from "./questions";
import { usageShort } from "./llm";

const STATE_WORDS: Record<string, string> = {
  waiting: "waiting for input", running: "running…", answered: "answered", done: "done", error: "failed",
};

interface Card { el: HTMLElement; status: HTMLElement; body: HTMLElement; outcome: HTMLElement; questions: QuestionList; sig: string }

export function renderInbox(model: AnyModel, el: HTMLElement, connect: Connect): () => void {
  const root = h("div", { class: "nbflow-inbox", "data-lm-suppress-shortcuts": "true" });
  const title = h("span", { class: "nbflow-name" });
  const filter = h("select", { class: "nbflow-filter", "aria-label": "Show workflow", "data-testid": "nbflow-inbox-filter" });
  const refresh = h("button", { type: "button", class: "nbflow-button nbflow-quiet", text: "Refresh" });
  const banner = h("div", { class: "nbflow-banner", role: "alert", hidden: true });
  const list = h("div", { class: "nbflow-inbox-items" });
  // Why some workflow's threads could not be read (its checkpointer unreachable): the kernel's `problem` trait.
  const problem = h("div", { class: "nbflow-problem", role: "alert", "data-testid": "nbflow-inbox-problem", hidden: true });
  const empty = h("div", { class: "nbflow-muted", text: "Nothing is waiting for input." });
  append(root, h("div", { class: "nbflow-header" }, title, filter, refresh), banner, problem, list);
  const drawProblem = () => {
    const text = String(model.get("problem") ?? "");
    problem.hidden = !text;
    clear(problem);
    if (text) append(problem, icon("error"), h("b", { text: " Some threads cannot be read right now: " }), text,
      h("div", { class: "nbflow-muted", text: "The list below may be incomplete; Refresh tries again." }));
  };
  el.append(root);
  const drafts: Record<string, Record<string, Drafts>> = {};
  const cards = new Map<string, Card>();
  let shown = "";

  const conn = connect((why) => {
    banner.hidden = false;
    banner.textContent = `Not connected: ${why}. Re-run the cell (nbflow.inbox()) to see the threads again.`;
    cards.forEach((c) => c.questions.disable("Not connected to the kernel"));
  });
  refresh.addEventListener("click", () => conn.send(msg("refresh")));
  filter.addEventListener("change", () => {
    shown = filter.value;
    draw();
  });

  const card = (item: InboxItem): Card => {
    const extra = { thread_id: item.thread_id, workflow: item.workflow };
    drafts[item.key] ??= {};
    const questions = questionList((m) => conn.send(m), extra, drafts[item.key]);
    const status = h("span", { class: "nbflow-inbox-state" });
    const jump = h("button", { type: "button", class: "nbflow-button nbflow-quiet nbflow-jump", "data-testid": "nbflow-jump", title: "Scroll to this thread's run view", text: "Run view" });
    jump.prepend(icon("link"));
    jump.addEventListener("click", () => {
      const target = document.querySelector(`.nbflow-run:not(.nbflow-static)[data-thread-id="${CSS.escape(item.thread_id)}"]`);
      if (target) {
        target.scrollIntoView({ behavior: "smooth", block: "center" });
        target.classList.add("nbflow-flash");  // say which view it is
        window.setTimeout(() => target.classList.remove("nbflow-flash"), 1500);
      }
      else jump.textContent = "no run view of this thread is open";
    });
    const outcome = h("div", { class: "nbflow-inbox-outcome" });
    const body = h("div", { class: "nbflow-inbox-body" }, questions.el, outcome);
    const toggle = h("button", { type: "button", class: "nbflow-expand", "aria-expanded": "true", title: "Show or hide" }, icon("chevron"));
    toggle.addEventListener("click", () => {
      body.hidden = !body.hidden;
      toggle.setAttribute("aria-expanded", String(!body.hidden));
    });
    const el = h("div", { class: "nbflow-inbox-item", "data-thread-id": item.thread_id, "data-workflow": item.workflow },
      h("div", { class: "nbflow-inbox-title" }, toggle, h("b", { text: item.workflow }), ` · thread ${item.thread_id} · `, status, jump), body);
    return { el, status, body, outcome, questions, sig: "" };
  };

  const draw = () => {
    const items: InboxItem[] = model.get("data") ?? [];
    const names = [...new Set(items.map((i) => i.workflow))].sort();
    const options = ["", ...names];
    if (filter.options.length !== options.length || options.some((n, i) => filter.options[i].value !== n)) {
      clear(filter);
      for (const n of options) filter.append(h("option", { value: n, text: n || "all workflows" }));
      filter.value = names.includes(shown) ? shown : "";
    }
    filter.hidden = names.length < 2;
    const visible = items.filter((i) => !shown || i.workflow === shown);
    const waiting = visible.filter((i) => i.state === "waiting").length;
    title.textContent = waiting ? `Inbox · ${waiting} waiting for input` : "Inbox";
    const keep = new Set(visible.map((i) => i.key));
    for (const [key, c] of cards) if (!keep.has(key)) { c.el.remove(); cards.delete(key); }
    let prev: Element | null = null;
    for (const item of visible) {
      let c = cards.get(item.key);
      const fresh = !c;
      if (!c) {
        c = card(item);
        cards.set(item.key, c);
      }
      const sig = JSON.stringify(item);
      if (c.sig !== sig) {
        c.sig = sig;
        const wasWaiting = c.el.dataset.state === "waiting";
        c.el.dataset.state = item.state;
        c.status.textContent = STATE_WORDS[item.state] ?? item.state;
        c.questions.update(item.questions);
        clear(c.outcome);
        if (item.message) append(c.outcome, h("div", { class: "nbflow-error", text: item.message }));
        if (item.result) append(c.outcome, h("div", { class: "nbflow-inbox-result" }, h("span", { class: "nbflow-muted", text: "Result: " }), h("code", { "data-testid": "nbflow-inbox-result", text: item.result })));
        if (item.usage) append(c.outcome, h("div", { class: "nbflow-inbox-usage" }, h("span", { class: "nbflow-usage", "data-testid": "nbflow-inbox-usage", title: item.usage.text, text: usageShort(item.usage) })));
        // Answered threads collapse (once); a thread that asks again opens.
        if (item.state === "waiting") c.body.hidden = false;
        else if (wasWaiting || fresh) c.body.hidden = item.state !== "running";
        c.el.querySelector(".nbflow-expand")?.setAttribute("aria-expanded", String(!c.body.hidden));
      }
      const next: Element | null = prev ? prev.nextElementSibling : list.firstElementChild;
      if (next !== c.el) list.insertBefore(c.el, next);
      prev = c.el;
    }
    if (!visible.length) list.append(empty);
    else empty.remove();
  };
  const onCustom = (content: ToFrontend) => {
    if (content?.kind !== "resume_error") return;
    for (const [key, c] of cards) if (key.endsWith(`/${content.thread_id}`)) c.questions.showErrors(content.id, content.message, content.errors ?? []);
  };
  model.on("change:data", draw);
  model.on("change:problem", drawProblem);
  model.on("msg:custom", onCustom);
  draw();
  drawProblem();
  return () => {
    conn.dispose();
    model.off("change:data", draw);
    model.off("change:problem", drawProblem);
    model.off("msg:custom", onCustom);
  };
}
