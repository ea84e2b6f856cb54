// The widget wire format, mirrored from nbflow/notebook/protocol.py.
// tests/test_notebook_widgets.py checks that every kind below exists on both sides.

export const VERSION = 1;

export const TO_FRONTEND = ["snapshot", "batch", "resume_error", "action_error"] as const;
export const TO_KERNEL = ["snapshot_request", "resume", "replay", "fork", "refresh"] as const;
export const OPS = ["append", "patch", "text"] as const;
export const ENTRY_KINDS = ["run", "task", "custom", "message", "interrupt", "answer", "error", "note"] as const;
export const FORM_KINDS = ["schema", "inbox", "options", "text"] as const;
export const STATUSES = ["idle", "running", "interrupted", "done", "error"] as const;

export type ToFrontendKind = (typeof TO_FRONTEND)[number];
export type ToKernelKind = (typeof TO_KERNEL)[number];
export type EntryKind = (typeof ENTRY_KINDS)[number];
export type FormKind = (typeof FORM_KINDS)[number];
export type Status = (typeof STATUSES)[number];

/** One line of a run view's log. */
export interface Entry {
  id: number;
  kind: EntryKind;
  depth?: number;
  text?: string;
  name?: string;
  path?: string;
  state?: "running" | "ok" | "error" | "interrupted";
  preview?: string;
  error?: string;
  duration?: number;
  started?: number;
  cached?: boolean;
  replayed?: boolean;
  node?: string;
  iid?: string;
  task?: string;
}

export type Op =
  | { op: "append"; entry: Entry }
  | { op: "patch"; id: number; set: Partial<Entry> }
  | { op: "text"; id: number; text: string };

export interface SnapshotMsg { kind: "snapshot"; v: number; seq: number; entries: Entry[]; omitted: number }
export interface BatchMsg { kind: "batch"; v: number; seq: number; ops: Op[] }
export interface FieldError { field: string; message: string }
export interface ResumeErrorMsg {
  kind: "resume_error"; v: number; id: string; message: string; errors: FieldError[]; thread_id?: string;
}
export interface ActionErrorMsg { kind: "action_error"; v: number; message: string }
export type ToFrontend = SnapshotMsg | BatchMsg | ResumeErrorMsg | ActionErrorMsg;

/** Header state of a run view (the `header` trait). */
export interface Header {
  name?: string;
  thread_id?: string | null;
  status?: Status;
  tasks_done?: number;
  tasks_started?: number;
  started_at?: number | null;
  ended_at?: number | null;
  elapsed?: number;
  error?: string;
  custom?: number;
}

export interface ValueView {
  type: "fields" | "text" | "none";
  fields?: { label: string; text: string; long: boolean }[];
  text?: string;
  long?: boolean;
}

export interface FieldSpec {
  name: string;
  label: string;
  type: "string" | "integer" | "number" | "boolean" | "enum" | "json";
  required: boolean;
  nullable: boolean;
  multiline?: boolean;
  description?: string;
  default?: unknown;
  enum?: unknown[];
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

/** One pending interrupt's form (built by nbflow/notebook/forms.py). */
export interface FormSpec {
  id: string;
  index: number;
  task: string;
  kind: FormKind;
  title?: string;
  display: ValueView;
  fields?: FieldSpec[];
  object?: boolean;
  options?: { label: string; index: number }[];
  actions?: ("accept" | "edit" | "response" | "ignore")[];
  action?: string;
  description?: string;
}

/** What a form sends (plus `thread_id`/`workflow` from an inbox). */
export interface ResumeMsg {
  kind: "resume"; v: number; id: string; value?: unknown; option?: number;
  thread_id?: string; workflow?: string;
}

export function msg<K extends ToKernelKind>(kind: K, fields: Record<string, unknown> = {}) {
  return { kind, v: VERSION, ...fields };
}
