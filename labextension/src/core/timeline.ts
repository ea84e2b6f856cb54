// The timeline: a thread's invocations in order, each with its tasks as bars on a time axis
// (tasks that ran in parallel overlap). Selecting one shows its saved value, questions and
// tasks with their inputs and outputs, the state saved at its checkpoint (Pretty / JSON), with
// "Replay from here" and "Fork from this task". Two invocations -- of this thread, or one of this
// thread and the latest of another (a fork on a new thread vs its origin) -- compare side by side.

import { renderConversation } from "./conversation";
import { AnyModel } from "./model";
import { ComparisonMsg, StateMsg, ToFrontend, msg } from "./protocol";
import { icon } from "./icons";
import { append, badge, clear, duration, h } from "./dom";
import { usageShort } from "./llm";
import { UsageSummary } from "./protocol";

/** A usage chip (nothing when there were no model calls). */
function usageChip(u: UsageSummary | null | undefined, testid: string): HTMLElement | null {
  return u && u.calls ? h("span", { class: "nbflow-usage", "data-testid": testid, title: u.text, text: usageShort(u) }) : null;
}

interface Task {
  i: number; name: string; path: string; depth: number; outcome: string; offset: number; duration: number;
  result: string; error: string; input: string; fork: number | null; interrupts: string[]; usage?: UsageSummary | null;
}
interface Invocation {
  index: number; status: string; source: string; input: string; span: number; value: string; preview: string;
  head: boolean; branch_of: number | null; waiting: number;
  error: string; asked: { id: string; value: string; text?: string; answered: boolean; answer: string; superseded?: boolean }[];
  pending: string[]; forked_from: Record<string, unknown> | null; tasks: Task[]; started_at: number; ended_at: number | null;
  usage?: UsageSummary | null;
}
interface Data { name: string; thread_id: string; invocations: Invocation[]; threads?: string[]; usage?: UsageSummary | null }

/** UI state of the details box that survives a redraw: the Pretty/JSON choice and states already fetched. */
interface DetailsUi { json: boolean; states: Map<number, StateMsg>; send: (m: unknown) => void; threads: string[] }

function gantt(inv: Invocation): HTMLElement {
  const box = h("div", { class: "nbflow-gantt" });
  const span = inv.span > 0 ? inv.span : 1;
  for (const t of inv.tasks) {
    const left = Math.min(100, (100 * t.offset) / span);
    const width = Math.max(0.6, Math.min(100 - left, (100 * t.duration) / span));
    const bar = h("div", {
      class: "nbflow-bar", "data-outcome": t.outcome,
      title: `${t.name} · ${duration(t.duration)}${t.result ? " → " + t.result : ""}${t.error ? " · " + t.error : ""}`,
    });
    bar.style.left = `${left}%`;
    bar.style.width = `${width}%`;
    const label = h("div", { class: "nbflow-gantt-label", text: t.name });
    label.style.paddingLeft = `${t.depth}em`;
    box.append(h("div", { class: "nbflow-gantt-row", "data-task": t.i }, label, h("div", { class: "nbflow-gantt-track" }, bar)));
  }
  if (inv.tasks.length) {
    box.append(h("div", { class: "nbflow-gantt-row nbflow-gantt-axis" }, h("div", { class: "nbflow-gantt-label" }),
      h("div", { class: "nbflow-gantt-track" }, h("span", { text: "0" }), h("span", { class: "nbflow-axis-end", text: `${duration(inv.span)} active` + (inv.waiting > 0.005 ? ` (+ ${duration(inv.waiting)} waiting for answers, not drawn)` : "") }))));
  }
  return box;
}

/** Each drawn state box's redraw (called when its state arrives). */
const fills = new WeakMap<Element, () => void>();

function stateBox(inv: Invocation, ui: DetailsUi): HTMLElement {
  const box = h("div", { class: "nbflow-state", "data-testid": "nbflow-state" });
  const pretty = h("button", { type: "button", class: "nbflow-tab", role: "tab", "data-testid": "nbflow-state-pretty", text: "Pretty" });
  const json = h("button", { type: "button", class: "nbflow-tab", role: "tab", "data-testid": "nbflow-state-json", text: "JSON" });
  const body = h("pre", { class: "nbflow-result nbflow-state-body", "data-testid": "nbflow-state-body" });
  const chat = h("div", { class: "nbflow-state-chat", "data-testid": "nbflow-state-chat", hidden: true });
  const fill = () => {
    pretty.setAttribute("aria-selected", String(!ui.json));
    json.setAttribute("aria-selected", String(ui.json));
    const st = ui.states.get(inv.index);
    body.textContent = st ? (ui.json ? st.json : st.pretty) : "loading…";
    box.dataset.format = ui.json ? "json" : "pretty";
    // The state's chat messages read as a conversation in the Pretty view (JSON shows everything as stored).
    const msgs = !ui.json && st?.chat?.length ? st.chat : null;
    chat.hidden = !msgs;
    body.hidden = !!msgs;
    clear(chat);
    if (msgs) chat.append(renderConversation(msgs));
  };
  fills.set(box, fill);
  pretty.addEventListener("click", () => { ui.json = false; fill(); });
  json.addEventListener("click", () => { ui.json = true; fill(); });
  append(box, h("div", { class: "nbflow-state-head" }, h("span", { class: "nbflow-result-label", text: "State at this checkpoint" }),
    h("span", { class: "nbflow-tabs", role: "tablist" }, pretty, json)), chat, body);
  fill();
  if (!ui.states.has(inv.index)) ui.send(msg("state_request", { index: inv.index }));
  return box;
}

function compareWith(inv: Invocation, ui: DetailsUi): HTMLElement | null {
  if (!ui.threads.length) return null;
  const pick = h("select", { class: "nbflow-filter", "data-testid": "nbflow-compare-thread", "aria-label": "Another thread" });
  for (const t of ui.threads) pick.append(h("option", { value: t, text: `thread ${t}` }));
  const go = h("button", { type: "button", class: "nbflow-button nbflow-small", "data-testid": "nbflow-compare-thread-go", text: "Compare" });
  go.addEventListener("click", () => ui.send(msg("compare", { left: inv.index, right: -1, right_thread: pick.value })));
  return h("div", { class: "nbflow-compare-with" }, h("span", { class: "nbflow-muted", text: `Compare #${inv.index} with the latest invocation of ` }), pick, go);
}

function details(inv: Invocation, ui: DetailsUi): HTMLElement {
  const send = ui.send;
  const box = h("div", { class: "nbflow-details" });
  if (inv.status !== "update") {
    // the newest invocation, waiting for an answer, runs again in place (its question is asked again)
    const again = inv.head && inv.status === "interrupted";
    const replay = h("button", { type: "button", class: "nbflow-button", "data-testid": "nbflow-replay",
      text: again ? "Re-run from this input (asks again)" : "Re-run from this input (same thread, new branch)" });
    replay.addEventListener("click", () => send(msg("replay", { index: inv.index })));
    box.append(h("div", { class: "nbflow-details-actions" }, replay));
  }
  if (inv.value) append(box, h("div", { class: "nbflow-result-label", text: inv.status === "update" ? "Saved state" : "Return value" }), h("pre", { class: "nbflow-result", text: inv.value }));
  if (inv.error) append(box, h("div", { class: "nbflow-run-error", text: inv.error }));
  for (const a of inv.asked) {
    append(box, h("div", { class: "nbflow-entry", "data-kind": "interrupt", "data-superseded": String(!!a.superseded) }, h("span", { class: "nbflow-mark" }, icon("question")), h("span", { class: "nbflow-asked", text: a.text ?? a.value, title: a.value }),
      a.answered ? h("span", { text: "  ↳ " }) : badge(a.superseded ? "superseded: this branch was left" : "waiting", a.superseded ? "superseded" : ""),
      a.answered ? h("code", { text: a.answer }) : null));
  }
  const table = h("div", { class: "nbflow-task-table" });
  for (const t of inv.tasks) {
    const row = h("div", { class: "nbflow-entry", "data-kind": "task", "data-state": t.outcome === "cached" ? "ok" : t.outcome },
      h("span", { class: "nbflow-mark" }, icon(t.outcome === "error" ? "error" : t.outcome === "interrupted" ? "waiting" : "ok")),
      h("span", { class: "nbflow-task-name", text: t.name }), t.outcome === "cached" ? badge("cached", "cached") : null,
      h("span", { class: "nbflow-duration", text: duration(t.duration) }), usageChip(t.usage, "nbflow-task-usage"),
      t.input ? h("span", { class: "nbflow-muted nbflow-task-io", text: "in" }) : null,
      t.input ? h("code", { class: "nbflow-preview", "data-testid": "nbflow-task-input", text: t.input }) : null,
      t.result ? h("span", { class: "nbflow-arrow", text: "→" }) : null,
      t.result ? h("code", { class: "nbflow-preview", "data-testid": "nbflow-task-output", text: t.result }) : null,
      t.error ? h("span", { class: "nbflow-error-text", text: t.error }) : null);
    if (t.fork !== null) {
      const fork = h("button", { type: "button", class: "nbflow-button nbflow-small", "data-testid": "nbflow-fork-open", text: "Fork from this task (new thread)" });
      fork.addEventListener("click", () => {
        fork.hidden = true;
        const value = h("textarea", { rows: 2, "data-testid": "nbflow-fork-value", placeholder: "New result for this task (a number, text, list…); leave empty to run the task again", "aria-label": "New result" });
        const go = h("button", { type: "button", class: "nbflow-button", "data-testid": "nbflow-fork", text: "Fork" });
        const cancel = h("button", { type: "button", class: "nbflow-button nbflow-quiet", text: "Cancel" });
        const editor = h("div", { class: "nbflow-fork-editor" }, value, go, cancel);
        go.addEventListener("click", () => {
          const text = value.value.trim();
          const fields: Record<string, unknown> = { invocation: inv.index, task: t.i };
          if (text) {
            try { fields.value = JSON.parse(text); } catch { fields.value = value.value; }
          }
          send(msg("fork", fields));
          editor.remove();
          fork.hidden = false;
        });
        cancel.addEventListener("click", () => { editor.remove(); fork.hidden = false; });
        row.after(editor);
      });
      row.append(fork);
    }
    table.append(row);
  }
  box.append(table);
  if (inv.status !== "running") box.append(stateBox(inv, ui));
  const other = compareWith(inv, ui);
  if (other) box.append(other);
  return box;
}

export function renderTimeline(model: AnyModel, el: HTMLElement): () => void {
  const root = h("div", { class: "nbflow-timeline", "data-lm-suppress-shortcuts": "true" });
  const title = h("span", { class: "nbflow-name" });
  const threadUsage = h("span", { class: "nbflow-usage", "data-testid": "nbflow-thread-usage", hidden: true });
  const refresh = h("button", { type: "button", class: "nbflow-button nbflow-quiet", text: "Refresh" });
  refresh.addEventListener("click", () => model.send(msg("refresh")));
  const errorBox = h("div", { class: "nbflow-error", hidden: true });
  const list = h("div", { class: "nbflow-invocations" });
  append(root, h("div", { class: "nbflow-header" }, title, threadUsage, refresh), errorBox, list);
  el.append(root);
  let selected = -1;
  let picked: number[] = [];
  const ui: DetailsUi = { json: false, states: new Map(), send: (m) => model.send(m), threads: [] };
  const compareBox = h("div", { class: "nbflow-compare", "data-testid": "nbflow-compare", hidden: true });
  root.append(compareBox);
  const showComparison = (m: ComparisonMsg) => {
    clear(compareBox);
    compareBox.hidden = false;
    const table = h("table", { class: "nbflow-compare-table" });
    const left = m.left_label ?? `#${m.left}`;
    const right = m.right_label ?? `#${m.right}`;
    table.append(h("tr", {}, h("th", { text: "" }), h("th", { text: left }), h("th", { text: right })));
    for (const r of m.rows) {
      table.append(h("tr", { "data-same": String(r.same) }, h("th", { text: r.what }), h("td", {}, h("code", { text: r.left })), h("td", {}, h("code", { text: r.right }))));
    }
    const differ = m.rows.filter((r) => !r.same).length;
    append(compareBox, h("div", { class: "nbflow-result-label", text: `Compare ${left} and ${right} · ${differ} difference${differ === 1 ? "" : "s"} (highlighted)` }), table);
  };

  const draw = () => {
    const data: Data = model.get("data") ?? { name: "", thread_id: "", invocations: [] };
    const n = data.invocations.length;
    ui.threads = data.threads ?? [];
    title.textContent = `${data.name} · thread ${data.thread_id} · ${n} invocation${n === 1 ? "" : "s"}`;
    threadUsage.hidden = !(data.usage && data.usage.calls);
    threadUsage.textContent = data.usage && data.usage.calls ? `thread ${usageShort(data.usage)}` : "";
    threadUsage.title = data.usage ? data.usage.text : "";
    if (selected < 0 || selected >= n) selected = n - 1;
    clear(list);
    for (const inv of data.invocations) {
      const card = h("div", { class: "nbflow-inv", "data-index": inv.index, "data-status": inv.status, "aria-selected": String(inv.index === selected) });
      const head = h("button", { type: "button", class: "nbflow-inv-head" },
        h("span", { class: "nbflow-inv-index", text: `#${inv.index}` }),
        h("span", { class: "nbflow-status", "data-status": inv.status, text: inv.status }),
        inv.status === "update" ? h("span", { text: "state edited" }) : h("code", { class: "nbflow-preview", text: inv.input }),
        inv.forked_from ? badge("fork", "fork") : null,
        inv.branch_of !== null && inv.branch_of !== undefined ? badge(`branch from #${inv.branch_of}`, "branch") : null,
        inv.head ? badge("head", "head") : null,
        h("span", { class: "nbflow-duration", text: inv.ended_at ? duration(inv.ended_at - inv.started_at) : "" }),
        usageChip(inv.usage, "nbflow-inv-usage"),
        inv.preview ? h("span", { class: "nbflow-arrow", text: "→" }) : null,
        inv.preview ? h("code", { class: "nbflow-preview", text: inv.preview }) : null);
      head.addEventListener("click", () => { selected = inv.index; draw(); });
      const pick = h("input", { type: "checkbox", class: "nbflow-compare-pick", "data-testid": "nbflow-compare-pick", title: "Pick two invocations to compare" });
      pick.checked = picked.includes(inv.index);
      pick.addEventListener("change", () => {
        picked = pick.checked ? [...picked.filter((x) => x !== inv.index), inv.index].slice(-2) : picked.filter((x) => x !== inv.index);
        if (picked.length === 2) model.send(msg("compare", { left: Math.min(...picked), right: Math.max(...picked) }));
        else { compareBox.hidden = true; }
        draw();
      });
      if (inv.branch_of !== null && inv.branch_of !== undefined) card.style.marginLeft = "1.2em";
      append(card, h("div", { class: "nbflow-inv-bar" }, h("label", { class: "nbflow-compare-label", title: "Compare" }, pick), head), inv.tasks.length ? gantt(inv) : null);
      if (inv.index === selected) card.append(details(inv, ui));
      list.append(card);
    }
  };
  const onCustom = (content: ToFrontend) => {
    if (content?.kind === "comparison") {
      showComparison(content as ComparisonMsg);
      return;
    }
    if (content?.kind === "state") {
      ui.states.set(content.index, content);
      const box = list.querySelector(`.nbflow-inv[data-index="${content.index}"] [data-testid="nbflow-state"]`);
      const fill = box ? fills.get(box) : undefined;
      if (fill) fill();
      return;
    }
    if (content?.kind === "action_error") {
      errorBox.hidden = false;
      errorBox.textContent = content.message;
    }
  };
  const onData = () => { errorBox.hidden = true; ui.states.clear(); draw(); };
  model.on("change:data", onData);
  model.on("msg:custom", onCustom);
  draw();
  return () => {
    model.off("change:data", onData);
    model.off("msg:custom", onCustom);
  };
}
