// The run view: the current state of one thread (not a log). One row per task call position, updated
// in place; the thread's questions as forms that are never rebuilt while open; active and waiting time
// apart; a failed run shows its error once with a collapsible traceback. Every view of a thread shows the
// same state: the kernel sends `snapshot` (everything) and `batch` (changed rows + state) messages.

import { AnyModel, Connect } from "./model";
import { BatchMsg, ResumeErrorMsg, Row, RunState, SnapshotMsg, ToFrontend, msg } from "./protocol";
import { RowList } from "./rows";
import { graphPanel, type GraphSize } from "./graph";

/** Task calls above which the Graph tab shows the Mermaid text only (as the kernel's actions.GRAPH_LIMIT). */
const GRAPH_LIMIT = 400;
import { append, clear, duration, h } from "./dom";
import { icon } from "./icons";
import { Drafts } from "./forms";
import { questionList } from "./questions";
import { STATUS_ICON, STATUS_WORDS } from "./status";
import { ConversationView } from "./conversation";
import { headerUsage } from "./llm";

/** What a view last showed, for the next view of the same widget to start from. */
type Shown = { state: RunState; rows: Row[]; seq: number };
/** UI state that outlives one rendering of a view: a re-render after update_display keeps drafts, and
 * starts from what the previous rendering showed instead of an empty view while the kernel answers. */
const uiState = new Map<string, { drafts: Record<string, Drafts>; focus: string | null; graph: boolean;
  graphSize: GraphSize; shown?: () => Shown | null }>();

export function renderRun(model: AnyModel, el: HTMLElement, connect: Connect): () => void {
  const uid = String(model.get("_uid") ?? "");
  if (!uiState.has(uid)) uiState.set(uid, { drafts: {}, focus: null, graph: false, graphSize: { actual: false } });
  const ui = uiState.get(uid)!;

  const root = h("div", { class: "nbflow-run", "data-status": model.get("status"), "data-lm-suppress-shortcuts": "true" });
  const name = h("span", { class: "nbflow-name" });
  const thread = h("span", { class: "nbflow-thread" });
  const statusIcon = h("span", { class: "nbflow-status-icon" });
  const statusText = h("span", { class: "nbflow-status-text" });
  const status = h("span", { class: "nbflow-status" }, statusIcon, statusText);
  const times = h("span", { class: "nbflow-elapsed", title: "active: time the workflow ran · waiting: time spent waiting for answers" });
  const bar = h("span", { class: "nbflow-progress-bar" });
  const count = h("span", { class: "nbflow-progress-text" });
  const progress = h("span", { class: "nbflow-progress", title: "task calls finished / task calls" }, h("span", { class: "nbflow-progress-track" }, bar), count);
  const stopBtn = h("button", { type: "button", class: "nbflow-button nbflow-stop", "data-testid": "nbflow-stop", hidden: true,
    title: "Stop this invocation (Workflow.stop): finished tasks stay checkpointed" }, icon("stopped"), " Stop");
  const usage = h("span", { class: "nbflow-usage nbflow-run-usage", "data-testid": "nbflow-run-usage", hidden: true });
  const header = h("div", { class: "nbflow-header" }, name, thread, status, times, progress, usage, stopBtn);
  const continueBtn = h("button", { type: "button", class: "nbflow-button", "data-testid": "nbflow-continue" }, icon("play"), " Continue");
  const stoppedLead = h("span", { class: "nbflow-stopped-lead", "data-testid": "nbflow-stopped-lead" });
  const stoppedBox = h("div", { class: "nbflow-stopped-box", "data-testid": "nbflow-stopped", hidden: true },
    stoppedLead, h("span", { text: "Finished tasks are checkpointed; abandoned tasks run again when you continue (same as " }),
    h("code", { text: "wf.invoke(None, config)" }), h("span", { text: "). " }), continueBtn);
  const actionError = h("div", { class: "nbflow-error-text nbflow-action-error", role: "alert", hidden: true });
  const banner = h("div", { class: "nbflow-banner", role: "alert", hidden: true });
  const rowList = new RowList();
  const rowsBox = rowList.el;
  const event = h("div", { class: "nbflow-muted nbflow-last-event", hidden: true });
  const errorBox = h("div", { class: "nbflow-run-error", hidden: true });
  const resultBox = h("div", { class: "nbflow-result-box", hidden: true });
  const chatView = new ConversationView();
  const turnNote = h("div", { class: "nbflow-turn-note", "data-testid": "nbflow-turn-note", role: "note", hidden: true });
  const tasksTab = h("button", { type: "button", role: "tab", class: "nbflow-tab", "aria-selected": "true", "data-testid": "nbflow-tab-tasks", text: "Tasks" });
  const graphTab = h("button", { type: "button", role: "tab", class: "nbflow-tab", "aria-selected": "false", "data-testid": "nbflow-tab-graph", text: "Graph" });
  const tabs = h("div", { class: "nbflow-tabs", role: "tablist" }, tasksTab, graphTab);
  const graphBox = h("div", { class: "nbflow-graph-box", role: "tabpanel", hidden: true });
  append(root, header, turnNote, banner, tabs, rowsBox, graphBox, event, stoppedBox, actionError, errorBox);
  el.append(root);

  const conn = connect((why) => {
    const tid = state?.thread_id;
    banner.hidden = false;
    clear(banner);
    append(banner, icon("plug"), h("b", { text: " Not connected: " }), `${why}. This view can no longer answer or update. `,
      "To continue, re-run the cell, or reattach with ",
      h("code", { text: tid ? `nbflow.show(${state?.workflow ?? "wf"}, config={"configurable": {"thread_id": "${tid}"}})` : "nbflow.show(wf, config=...)" }), ".");
    root.dataset.kernel = "gone";
    questions.disable("Not connected to the kernel");
    stopBtn.disabled = true;
    continueBtn.disabled = true;
  });
  // The Graph tab asks for the picture when opened and again (at most twice a second) while the thread changes.
  let graphOpen = false;
  let graphAsked = 0;
  let graphTimer = 0;
  let graphSeen = "";
  const askGraph = () => {
    if (!graphOpen || graphTimer) return;
    const wait = Math.max(0, graphAsked + 500 - performance.now());
    graphTimer = window.setTimeout(() => {
      graphTimer = 0;
      graphAsked = performance.now();
      if (graphOpen) conn.send(msg("graph_request"));
    }, wait);
  };
  const showTab = (graph: boolean) => {
    graphOpen = ui.graph = graph;
    tasksTab.setAttribute("aria-selected", String(!graph));
    graphTab.setAttribute("aria-selected", String(graph));
    rowsBox.hidden = graph;
    graphBox.hidden = !graph;
    if (graph) askGraph();
  };
  tasksTab.addEventListener("click", () => showTab(false));
  graphTab.addEventListener("click", () => showTab(true));
  if (ui.graph) showTab(true);  // a re-render keeps the tab the user chose
  const act = (kind: "stop" | "continue", btn: HTMLButtonElement) => {
    actionError.hidden = true;
    if (conn.send(msg(kind))) btn.disabled = true;
  };
  stopBtn.addEventListener("click", () => act("stop", stopBtn));
  continueBtn.addEventListener("click", () => act("continue", continueBtn));
  const questions = questionList((m) => conn.send(m), {}, ui.drafts);
  root.insertBefore(questions.el, errorBox);
  root.append(resultBox);

  let state: RunState | null = null;
  let seq = -1;
  let awaiting = true;
  let primed: string | null = null;  // what this view showed from the previous rendering, until the kernel's snapshot
  let sinceAt = 0;

  const tick = () => {
    if (!state) return;
    const extra = state.since !== null && state.since !== undefined ? Math.max(0, Date.now() / 1000 - state.since) : 0;
    const active = state.active_s + (state.status === "running" ? extra : 0);
    const waiting = state.waiting_s + (state.status === "interrupted" ? extra : 0);
    const parts = [];
    if (active > 0 || state.status === "running") parts.push(`active ${duration(active)}`);
    if (waiting > 0 || state.status === "interrupted") parts.push(`waiting ${duration(waiting)}`);
    times.textContent = parts.join(" · ");
  };

  const applyState = (s: RunState) => {
    state = s;
    sinceAt = performance.now();
    root.dataset.status = s.status;
    if (s.thread_id) root.dataset.threadId = s.thread_id;
    name.textContent = s.name;
    thread.textContent = s.thread_id ? `thread ${s.thread_id}` : "";
    status.dataset.status = s.status;
    clear(statusIcon);
    statusIcon.append(icon(STATUS_ICON[s.status] ?? "superseded"));
    statusText.textContent = STATUS_WORDS[s.status] ?? s.status;
    count.textContent = s.total ? `${s.done}/${s.total} tasks` : "";
    progress.hidden = !s.total;
    bar.style.width = s.status === "done" ? "100%" : s.total ? `${Math.round((100 * s.done) / s.total)}%` : "0%";
    const used = headerUsage(s.usage, s.thread_usage);
    usage.hidden = !used.text;
    usage.textContent = used.text;
    usage.title = used.title;
    event.hidden = (!s.last_event && !s.events) || s.status === "stopped";
    event.textContent = s.events ? `${s.events} events · latest: ${s.last_event}` : s.last_event;
    errorBox.hidden = s.status !== "error";
    clear(errorBox);
    if (s.status === "error") {
      append(errorBox, h("div", { class: "nbflow-error-text", "data-testid": "nbflow-error", text: s.error }));
      if (s.error_where) append(errorBox, h("div", { class: "nbflow-error-where", text: `at ${s.error_where}` }));
      if (s.traceback) append(errorBox, h("details", { class: "nbflow-traceback" }, h("summary", { text: "Traceback" }), h("pre", { text: s.traceback })));
    }
    turnNote.hidden = !s.moved_on;
    turnNote.textContent = s.moved_on ? `Turn ${s.invocation} of thread ${s.thread_id}: this view keeps its own turn; a newer turn has started since (the thread as it is now: the timeline, the sidebar, or nbflow.show(workflow, config=...)).` : "";
    resultBox.hidden = !s.has_result;
    if (s.has_result && s.result_chat?.length) {  // chat messages: a conversation, updated in place
      if (resultBox.dataset.kind !== "chat") {
        clear(resultBox);
        append(resultBox, h("div", { class: "nbflow-result-label", text: "Conversation" }),
          h("div", { class: "nbflow-result-chat", "data-testid": "nbflow-result" }, chatView.el));
        resultBox.dataset.kind = "chat";
      }
      chatView.update(s.result_chat);
    } else {
      clear(resultBox);
      delete resultBox.dataset.kind;
      if (s.has_result) append(resultBox, h("div", { class: "nbflow-result-label", text: "Result" }), h("pre", { class: "nbflow-result", "data-testid": "nbflow-result", text: s.result }));
    }
    questions.update(s.questions);
    tabs.hidden = !s.thread_id;
    askGraph();
    const gone = conn.gone();
    // A run going on in another process cannot be stopped from here (Workflow.stop stops runs of this process).
    const elsewhere = s.liveness?.state === "elsewhere";
    stopBtn.hidden = !(s.status === "running" && s.thread_id) || elsewhere;
    root.dataset.liveness = s.liveness?.state ?? (s.status === "running" ? "here" : "");
    const dead = s.liveness?.state === "gone";
    stoppedLead.textContent = dead
      ? `Stopped without finishing: ${s.liveness?.owner || "its process"} is gone` +
        (s.liveness?.since ? ` (last sign of life ${new Date(s.liveness.since * 1000).toLocaleString()})` : "") + ". "
      : "Stopped. ";
    stopBtn.disabled = gone || s.last_event === "stopping…";
    stoppedBox.hidden = s.status !== "stopped";
    continueBtn.disabled = gone;
    tick();
    void sinceAt;
  };

  const onSnapshot = (m: SnapshotMsg) => {
    if (primed !== null) {  // the first snapshot after starting from the previous rendering's content
      const same = JSON.stringify([m.state, m.rows]) === primed;
      primed = null;
      if (same) {  // nothing changed: keep the elements (a test or a user may be holding one)
        seq = m.seq;
        awaiting = false;
        if (!conn.gone()) banner.hidden = true;
        return;
      }
    }
    const t0 = performance.now();
    // The kernel sends a snapshot's rows in call order; only the rows in view are drawn.
    rowList.reset(m.rows);
    applyState(m.state);
    seq = m.seq;
    awaiting = false;
    if (!conn.gone()) banner.hidden = true;
    root.dataset.updateMs = (performance.now() - t0).toFixed(2);
    root.dataset.snapshotMs = root.dataset.updateMs;
    if (root.isConnected) {  // the same update including the style and layout it causes (forced here, once)
      void rowsBox.scrollHeight;
      root.dataset.snapshotLayoutMs = (performance.now() - t0).toFixed(2);
    }
    root.dataset.snapshotRows = String(m.rows.length);
    root.dataset.updateMaxMs = Math.max(Number(root.dataset.updateMs), Number(root.dataset.updateMaxMs ?? 0)).toFixed(2);
    root.dataset.updateRows = String(Math.max(m.rows.length, Number(root.dataset.updateRows ?? 0)));
  };
  const onBatch = (m: BatchMsg) => {
    if (awaiting || m.seq <= seq) return;
    const t0 = performance.now();
    rowList.upsert(m.rows);
    if (m.state) applyState(m.state);
    seq = m.seq;
    const ms = performance.now() - t0;
    root.dataset.updateMs = ms.toFixed(2);
    root.dataset.updateMaxMs = Math.max(ms, Number(root.dataset.updateMaxMs ?? 0)).toFixed(2);
    root.dataset.updateRows = String(Math.max(m.rows.length, Number(root.dataset.updateRows ?? 0)));
  };
  const onCustom = (content: ToFrontend) => {
    if (!content || typeof content !== "object") return;
    if (content.kind === "snapshot") onSnapshot(content);
    else if (content.kind === "batch") onBatch(content);
    else if (content.kind === "graph") {
      if (content.mermaid + content.note !== graphSeen) {
        graphSeen = content.mermaid + content.note;
        clear(graphBox);
        graphBox.append(graphPanel(content.mermaid, content.note, GRAPH_LIMIT, ui.graphSize));
      }
      graphBox.dataset.loaded = "true";
    } else if (content.kind === "action_error") {
      actionError.hidden = false;
      actionError.textContent = content.message;
      stopBtn.disabled = continueBtn.disabled = conn.gone();
    } else if (content.kind === "resume_error") {
      const e = content as ResumeErrorMsg;
      questions.showErrors(e.id, e.message, e.errors ?? []);
    }
  };
  const onFocus = (e: FocusEvent) => {
    const t = e.target as HTMLElement;
    const form = t.closest("form");
    const key = t.getAttribute("data-field") ?? t.getAttribute("data-testid");
    ui.focus = form && key ? `${form.getAttribute("data-interrupt-id")}::${key}` : null;
  };
  root.addEventListener("focusin", onFocus);

  model.on("msg:custom", onCustom);
  const timer = window.setInterval(() => {
    if (state && (state.status === "running" || state.status === "interrupted")) tick();
  }, 500);
  // Start from what the previous rendering of this widget showed (no blank view while the kernel
  // answers), then take the kernel's snapshot as usual; batches wait for that snapshot.
  const prior = ui.shown?.() ?? null;
  if (prior) {
    onSnapshot({ kind: "snapshot", v: 1, seq: prior.seq, state: prior.state, rows: prior.rows });
    awaiting = true;
    primed = JSON.stringify([prior.state, prior.rows]);
  }
  ui.shown = () => (state ? { state, rows: rowList.all(), seq } : null);
  const first = conn.send(msg("snapshot_request"));
  const noReply = window.setTimeout(() => {
    if (awaiting && first && !conn.gone()) {
      banner.hidden = false;
      banner.textContent = "Waiting for the kernel… (if it was restarted, re-run the cell to reattach)";
    }
  }, 8000);
  // A re-render (e.g. after the saved fallbacks were refreshed) puts focus back where the user was typing.
  if (ui.focus) {
    const [iid, key] = ui.focus.split("::");
    const restore = () => {
      const target = root.querySelector(`form[data-interrupt-id="${iid}"] [data-field="${key}"], form[data-interrupt-id="${iid}"] [data-testid="${key}"]`) as HTMLElement | null;
      if (target && document.activeElement === document.body) target.focus();
    };
    window.setTimeout(restore, 0);
    window.setTimeout(restore, 300);
  }

  return () => {
    window.clearInterval(timer);
    window.clearTimeout(noReply);
    window.clearTimeout(graphTimer);
    conn.dispose();
    model.off("msg:custom", onCustom);
  };
}
