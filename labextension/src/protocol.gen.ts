// GENERATED from nbflow/notebook/protocol.py by `python nbflow/notebook/protocol.py --ts`.
// Do not edit: change the Python types and rebuild (npm run build regenerates this file).

export const VERSION = 2 as const;
export const TO_FRONTEND = ["snapshot", "batch", "resume_error", "action_error", "comparison", "graph", "state"] as const;
export const TO_KERNEL = ["snapshot_request", "resume", "resume_all", "replay", "fork", "refresh", "compare", "stop", "continue", "graph_request", "state_request"] as const;
export const ROW_STATES = ["running", "ok", "cached", "error", "waiting", "stopped"] as const;
export const FORM_KINDS = ["schema", "inbox", "options", "text"] as const;
export const STATUSES = ["idle", "running", "interrupted", "done", "error", "stopped"] as const;
export const QUESTION_STATES = ["pending", "answered", "superseded"] as const;
export const SIDEBAR_TARGET = "nbflow.lab" as const;
export const SIDEBAR_VERSION = 1 as const;
export const SIDEBAR_TO_KERNEL = ["list", "answer", "stop", "continue", "timeline", "prices"] as const;
export const SIDEBAR_TO_FRONTEND = ["threads", "thread", "timeline_code", "ok", "error"] as const;

/** Any JSON value (what ``Any`` is on the wire). */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
/** One input of a schema form (built by ``forms.field_spec``). */
export interface FieldSpec {
  name: string;
  label: string;
  type: "string" | "integer" | "number" | "boolean" | "enum" | "json";
  required: boolean;
  nullable: boolean;
  multiline?: boolean;
  description?: string;
  default?: JsonValue;
  enum?: JsonValue[];
  enum_labels?: string[];
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  multipleOf?: number;
}
export interface ValueField {
  label: string;
  text: string;
  long: boolean;
}
/** How to show a question's value: labelled fields, one text block, or nothing. */
export interface ValueView {
  type: "fields" | "text" | "none";
  fields?: ValueField[];
  text?: string;
  long?: boolean;
}
export interface OptionSpec {
  label: string;
  index: number;
}
/** The form for one question (built by ``forms.form_spec``). */
export interface FormSpec {
  id: string;
  index: number;
  task: string;
  kind: "schema" | "inbox" | "options" | "text";
  display: ValueView;
  title?: string;
  fields?: FieldSpec[];
  object?: boolean;
  options?: OptionSpec[];
  actions?: ("accept" | "edit" | "response" | "ignore")[];
  action?: string;
  args?: JsonValue;
  wrap?: boolean;
  description?: string;
}
/** A tool call in a conversation: its arguments (pretty JSON) and, once a tool message answered it, its result (``error``: the tool failed). */
export interface ToolCallView {
  id: string;
  name: string;
  args: string;
  result: string;
  error: boolean;
  answered: boolean;
}
/** One message of a conversation (``notebook/conversation.py``): content is markdown; ``long`` is drawn folded. */
export interface ChatMessage {
  role: "user" | "assistant" | "system" | "tool";
  name: string;
  content: string;
  long: boolean;
  tool_calls: ToolCallView[];
  tool_call_id: string;
  error: boolean;
}
/** Model usage summed over a task, an invocation or a thread (``nbflow.observe.UsageTotals``). */
export interface UsageSummary {
  calls: number;
  input_tokens: number;
  output_tokens: number;
  total_tokens: number;
  cost: number;
  unpriced: number;
  models: string[];
  text: string;
}
/** A tool call a task's model asked for (streamed, then from its final message). */
export interface ToolCallRow {
  id: string;
  name: string;
  args: string;
}
/** One row of a run view: a task call position (or a streamed message), updated in place. */
export interface Row {
  key: string;
  kind: "task" | "message" | "run";
  name: string;
  path: string;
  depth: number;
  state: "running" | "ok" | "cached" | "error" | "waiting" | "stopped";
  preview: string;
  error: string;
  duration: number;
  cached: boolean;
  replayed: boolean;
  text: string;
  chat?: ChatMessage[];
  stream?: string;
  tools?: ToolCallRow[];
  usage?: UsageSummary;
}
/** Whether an unfinished run is going on (``nbflow.checkpoint.leases``): ``elsewhere`` (another process renews its lease) or ``gone`` (it stopped without finishing); ``since``: its last sign of life. */
export interface Liveness {
  state: "here" | "elsewhere" | "gone";
  owner: string;
  since: number | null;
}
/** A question the thread asked in its current invocation, and what became of it. */
export interface Question {
  id: string;
  task: string;
  state: "pending" | "answered" | "superseded";
  summary: string;
  text: string;
  answer: string;
  origin: string;
  form: FormSpec;
}
/** Everything a run view shows besides its rows. */
export interface RunState {
  name: string;
  workflow: string;
  thread_id: string | null;
  status: "idle" | "running" | "interrupted" | "done" | "error" | "stopped";
  done: number;
  total: number;
  active_s: number;
  waiting_s: number;
  since: number | null;
  error: string;
  error_where: string;
  traceback: string;
  result: string;
  result_preview: string;
  has_result: boolean;
  events: number;
  last_event: string;
  questions: Question[];
  invocation: number;
  result_chat?: ChatMessage[];
  moved_on?: boolean;
  liveness?: Liveness | null;
  usage?: UsageSummary;
  thread_usage?: UsageSummary;
}
/** One thread in the inbox: waiting for input, running, or answered (kept, collapsed). */
export interface InboxItem {
  key: string;
  workflow: string;
  thread_id: string;
  state: "waiting" | "running" | "answered" | "done" | "error";
  message: string;
  questions: Question[];
  result: string;
  updated: number;
  usage?: UsageSummary;
}
export interface FieldError {
  field: string;
  message: string;
}
export interface SnapshotMsg {
  kind: "snapshot";
  v: number;
  seq: number;
  state: RunState;
  rows: Row[];
}
export interface BatchMsg {
  kind: "batch";
  v: number;
  seq: number;
  state?: RunState;
  rows: Row[];
}
export interface ResumeErrorMsg {
  kind: "resume_error";
  v: number;
  id: string;
  message: string;
  errors: FieldError[];
  thread_id?: string;
}
export interface ActionErrorMsg {
  kind: "action_error";
  v: number;
  message: string;
}
/** One line of a side-by-side comparison: what, left value, right value, equal or not. */
export interface CompareRow {
  what: string;
  left: string;
  right: string;
  same: boolean;
}
export interface ComparisonMsg {
  kind: "comparison";
  v: number;
  left: number;
  right: number;
  left_label?: string;
  right_label?: string;
  rows: CompareRow[];
}
export interface CompareMsg {
  kind: "compare";
  v: number;
  left: number;
  right: number;
  right_thread?: string;
}
export interface Answer {
  id: string;
  value?: JsonValue;
  option?: number;
}
export interface ResumeMsg {
  kind: "resume";
  v: number;
  id: string;
  value?: JsonValue;
  option?: number;
  thread_id?: string;
  workflow?: string;
}
export interface ResumeAllMsg {
  kind: "resume_all";
  v: number;
  answers: Answer[];
  thread_id?: string;
  workflow?: string;
}
export interface SnapshotRequestMsg {
  kind: "snapshot_request";
  v: number;
}
export interface RefreshMsg {
  kind: "refresh";
  v: number;
}
export interface ReplayMsg {
  kind: "replay";
  v: number;
  index: number;
}
export interface ForkMsg {
  kind: "fork";
  v: number;
  invocation: number;
  task: number;
  value?: JsonValue;
  same_thread?: boolean;
}
export interface StopMsg {
  kind: "stop";
  v: number;
}
export interface ContinueMsg {
  kind: "continue";
  v: number;
}
/** The Mermaid text of what ran (``Workflow.get_graph_mermaid``); ``note`` says why it is empty. */
export interface GraphMsg {
  kind: "graph";
  v: number;
  mermaid: string;
  note: string;
}
export interface GraphRequestMsg {
  kind: "graph_request";
  v: number;
}
export interface StateRequestMsg {
  kind: "state_request";
  v: number;
  index: number;
}
/** The state saved at an invocation's checkpoint, as readable text and as JSON. */
export interface StateMsg {
  kind: "state";
  v: number;
  index: number;
  thread_id: string;
  pretty: string;
  json: string;
  note: string;
  chat?: ChatMessage[];
}
/** A question waiting in a sidebar row: its one-line text and the run view's form for it. */
export interface SidebarQuestion {
  id: string;
  task: string;
  summary: string;
  form: FormSpec;
}
/** One row of the Workflows sidebar: a thread, its status and the questions it waits on. */
export interface SidebarThread {
  key: string;
  workflow: string;
  thread_id: string;
  status: "idle" | "running" | "interrupted" | "done" | "error" | "stopped";
  last_activity: number | null;
  checkpointer: string;
  questions: SidebarQuestion[];
  liveness?: string;
  note?: string;
  size?: number;
  usage?: UsageSummary;
  streaming?: string;
}
export interface SidebarListMsg {
  kind: "list";
  v: number;
}
/** JupyterLab's *Model prices* setting: the kernel's default price table (``set_prices`` entries win). */
export interface SidebarPricesMsg {
  kind: "prices";
  v: number;
  prices: JsonValue;
}
/** Answer one question (decoded as a run view's form answer) and continue the thread. */
export interface SidebarAnswerMsg {
  kind: "answer";
  v: number;
  workflow: string;
  thread_id: string;
  id: string;
  value?: JsonValue;
  option?: number;
}
export interface SidebarStopMsg {
  kind: "stop";
  v: number;
  workflow: string;
  thread_id: string;
}
export interface SidebarContinueMsg {
  kind: "continue";
  v: number;
  workflow: string;
  thread_id: string;
}
export interface SidebarTimelineMsg {
  kind: "timeline";
  v: number;
  workflow: string;
  thread_id: string;
}
export interface SidebarThreadsMsg {
  kind: "threads";
  v: number;
  threads: SidebarThread[];
  workflows: string[];
}
export interface SidebarThreadMsg {
  kind: "thread";
  v: number;
  thread: SidebarThread;
}
export interface SidebarTimelineCodeMsg {
  kind: "timeline_code";
  v: number;
  key: string;
  code: string;
}
export interface SidebarOkMsg {
  kind: "ok";
  v: number;
  request: "list" | "answer" | "stop" | "continue" | "timeline" | "prices";
  key: string;
}
/** A request failed: ``request`` is the kind it had (None when it had none), ``key`` its thread. */
export interface SidebarErrorMsg {
  kind: "error";
  v: number;
  request: string | null;
  message: string;
  key: string;
  id?: string;
  errors?: FieldError[];
}
export type ToFrontend = SnapshotMsg | BatchMsg | ResumeErrorMsg | ActionErrorMsg | ComparisonMsg | GraphMsg | StateMsg;
export type ToKernel = SnapshotRequestMsg | ResumeMsg | ResumeAllMsg | RefreshMsg | ReplayMsg | ForkMsg | CompareMsg | StopMsg | ContinueMsg | GraphRequestMsg | StateRequestMsg;
export type SidebarToKernel = SidebarListMsg | SidebarAnswerMsg | SidebarStopMsg | SidebarContinueMsg | SidebarTimelineMsg | SidebarPricesMsg;
export type SidebarToFrontend = SidebarThreadsMsg | SidebarThreadMsg | SidebarTimelineCodeMsg | SidebarOkMsg | SidebarErrorMsg;
