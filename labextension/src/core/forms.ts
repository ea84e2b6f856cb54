// Interrupt forms: one <form class="nbflow-interrupt"> per pending interrupt, built from the
// form spec that nbflow/notebook/forms.py sends. Checks what it can before sending; the kernel
// validates again and answers a refused value with a `resume_error` message (showErrors).

import { markdown } from "./conversation";
import { FieldError, FieldSpec, FormSpec, Question, ValueView, msg } from "./protocol";
import { append, h } from "./dom";
import { icon } from "./icons";

type Read = { ok: true; value?: unknown } | { ok: false; error: string };

interface Control {
  spec: FieldSpec;
  wrap: HTMLElement;
  input: HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement;
  read(): Read;
}

export interface FormHandle {
  el: HTMLFormElement;
  id: string;
  showErrors(message: string, errors: FieldError[]): void;
  /** Validate and return the answer fields ({value} or {option}), or null after showing errors. */
  read(): Record<string, unknown> | null;
  /** Mark the form as sent and waiting for the kernel. */
  sending(): void;
  /** The question was answered (here or elsewhere): read-only, with the answer and its origin. */
  answered(q: Question): void;
  /** Turn every control off, with a reason shown in the form. */
  disable(reason: string): void;
}

/** Typed-but-unsent values of a form, kept by the view across re-renders: control key → value. */
export type Drafts = Record<string, string | boolean>;

const ACTION_LABELS: Record<string, string> = { accept: "Accept", edit: "Edit", response: "Respond", ignore: "Ignore" };

/** Show an interrupt's value: labelled fields for a dict, else one readable text block. */
export function renderValue(view: ValueView): HTMLElement | null {
  if (view.type === "fields" && view.fields) {
    const dl = h("dl", { class: "nbflow-value-fields" });
    for (const f of view.fields) {
      append(dl, h("dt", { text: f.label }),
        h("dd", { class: f.long ? "nbflow-long" : "", text: f.text }));
    }
    return dl;
  }
  if (view.type === "text") {
    return h("div", { class: `nbflow-value${view.long ? " nbflow-long" : ""}`, text: view.text ?? "" });
  }
  return null;
}

function checkNumber(spec: FieldSpec, n: number): string | null {
  if (spec.type === "integer" && !Number.isInteger(n)) return "enter a whole number";
  if (spec.minimum !== undefined && n < spec.minimum) return `must be ≥ ${spec.minimum}`;
  if (spec.maximum !== undefined && n > spec.maximum) return `must be ≤ ${spec.maximum}`;
  if (spec.exclusiveMinimum !== undefined && n <= spec.exclusiveMinimum) return `must be > ${spec.exclusiveMinimum}`;
  if (spec.exclusiveMaximum !== undefined && n >= spec.exclusiveMaximum) return `must be < ${spec.exclusiveMaximum}`;
  return null;
}

function checkString(spec: FieldSpec, s: string): string | null {
  if (spec.minLength !== undefined && s.length < spec.minLength) return `at least ${spec.minLength} characters`;
  if (spec.maxLength !== undefined && s.length > spec.maxLength) return `at most ${spec.maxLength} characters`;
  if (spec.pattern) {
    try {
      if (!new RegExp(spec.pattern, "u").test(s)) return `must match ${spec.pattern}`;
    } catch {
      /* a pattern JavaScript cannot read is left to the kernel */
    }
  }
  return null;
}

/** One labelled input for a schema field; `data-field` sits on the input itself. */
export function fieldControl(spec: FieldSpec): Control {
  const id = `nbflow-f-${Math.random().toString(36).slice(2)}`;
  let input: Control["input"];
  const dflt = spec.default;
  if (spec.type === "boolean") {
    const cb = h("input", { type: "checkbox", id, "data-field": spec.name });
    cb.checked = dflt === true;
    input = cb;
  } else if (spec.type === "enum") {
    const sel = h("select", { id, "data-field": spec.name });
    const values = spec.enum ?? [];
    const labels = spec.enum_labels ?? values.map((v) => JSON.stringify(v));
    const dIndex = values.findIndex((v) => JSON.stringify(v) === JSON.stringify(dflt));
    if (dIndex < 0) sel.append(h("option", { value: "", text: "— choose —" }));
    values.forEach((_v, i) => sel.append(h("option", { value: String(i), text: labels[i] })));
    if (dIndex >= 0) sel.value = String(dIndex);
    input = sel;
  } else if (spec.type === "json" || (spec.type === "string" && spec.multiline)) {
    const ta = h("textarea", { id, rows: spec.type === "json" ? 4 : 3, "data-field": spec.name });
    // An optional JSON field whose default is null starts empty (empty = the default), not with "null".
    if (dflt !== undefined && !(spec.type === "json" && dflt === null)) ta.value = spec.type === "json" ? JSON.stringify(dflt, null, 2) : String(dflt ?? "");
    if (spec.type === "json" && !spec.required) ta.placeholder = dflt === null || dflt === undefined ? "empty: none" : "empty: the default";
    input = ta;
  } else {
    const numeric = spec.type === "integer" || spec.type === "number";
    const inp = h("input", {
      id, type: numeric ? "number" : "text", "data-field": spec.name,
      step: numeric ? (spec.type === "integer" ? "1" : "any") : null,
    });
    if (dflt !== undefined && dflt !== null) inp.value = String(dflt);
    input = inp;
  }
  const label = h("label", { for: id, class: "nbflow-label" }, spec.label, spec.required ? h("span", { class: "nbflow-req", text: " *" }) : null);
  const wrap = h("div", { class: `nbflow-field nbflow-field-${spec.type}` });
  if (spec.type === "boolean") append(wrap, input, label);
  else append(wrap, label, input);
  if (spec.description) append(wrap, h("div", { class: "nbflow-help", text: spec.description }));

  const read = (): Read => {
    let raw: string;
    if (spec.type === "boolean") return { ok: true, value: (input as HTMLInputElement).checked };
    raw = input.value;
    const empty = spec.type === "string" ? raw === "" : raw.trim() === "";
    if (empty) {
      if (spec.required && !spec.nullable) return { ok: false, error: "required" };
      return spec.required ? { ok: true, value: null } : { ok: true };
    }
    if (spec.type === "enum") return { ok: true, value: (spec.enum ?? [])[Number(raw)] };
    if (spec.type === "integer" || spec.type === "number") {
      const n = Number(raw.trim());
      if (!isFinite(n)) return { ok: false, error: "enter a number" };
      const problem = checkNumber(spec, n);
      return problem ? { ok: false, error: problem } : { ok: true, value: n };
    }
    if (spec.type === "json") {
      try {
        return { ok: true, value: JSON.parse(raw) };
      } catch (e) {
        return { ok: false, error: `not valid JSON (${(e as Error).message})` };
      }
    }
    const problem = checkString(spec, raw);
    return problem ? { ok: false, error: problem } : { ok: true, value: raw };
  };
  return { spec, wrap, input, read };
}

function setFieldError(ctrl: Control, message: string): void {
  ctrl.wrap.querySelectorAll(".nbflow-error").forEach((e) => e.remove());
  append(ctrl.wrap, h("div", { class: "nbflow-error", role: "alert", text: message }));
  ctrl.input.setAttribute("aria-invalid", "true");
}

function controlKey(el: Element): string | null {
  return el.getAttribute("data-field") ?? el.getAttribute("data-testid");
}

/** Read every control; returns the object (or the root value) or null after showing errors. */
function readFields(controls: Control[], asObject: boolean): { value: unknown } | null {
  const out: Record<string, unknown> = {};
  let bad = false;
  for (const c of controls) {
    const r = c.read();
    if (!r.ok) {
      setFieldError(c, r.error);
      bad = true;
    } else if ("value" in r) {
      out[c.spec.name] = r.value;
    }
  }
  if (bad) return null;
  return { value: asObject ? out : out[controls[0]?.spec.name ?? "value"] };
}

/**
 * Build the form for one interrupt. `send` gets the `resume` message; `extra` is merged
 * into it (the inbox adds thread_id and workflow).
 */
export function renderForm(spec: FormSpec, send: (m: Record<string, unknown>) => boolean, extra: Record<string, unknown> = {},
  drafts: Drafts = {}): FormHandle {
  const form = h("form", { class: "nbflow-interrupt", "data-interrupt-id": spec.id, "data-kind": spec.kind, novalidate: true });
  const who = spec.task ? ` from ${spec.task}` : "";
  append(form, h("div", { class: "nbflow-form-head" }, h("span", { class: "nbflow-q" }, icon("question")),
    h("span", { text: spec.kind === "inbox" ? `Review ${spec.action || "the request"}${who}` : spec.title ? (spec.kind === "schema" ? `${spec.title}${who}` : spec.title) : `Question${who}` })));
  if (spec.kind === "inbox" && spec.description) {
    // Agent Inbox: the description is markdown (a safe subset: everything escaped, see conversation.ts).
    const desc = h("div", { class: "nbflow-value nbflow-long nbflow-md", "data-testid": "nbflow-description" });
    desc.innerHTML = markdown(spec.description);
    append(form, desc);
  }
  const shown = renderValue(spec.display);
  if (shown) append(form, shown);

  const submit = h("button", { type: "submit", class: "nbflow-submit", "data-testid": "nbflow-submit", text: "Send" });
  const state = h("span", { class: "nbflow-form-state" });
  const body = h("div", { class: "nbflow-form-body" });
  append(form, body);
  let controls: Control[] = [];
  let collect: () => Record<string, unknown> | null;

  const clearErrors = () => {
    form.querySelectorAll(".nbflow-error").forEach((e) => e.remove());
    form.querySelectorAll("[aria-invalid]").forEach((e) => e.removeAttribute("aria-invalid"));
  };
  const formError = (message: string) => {
    form.insertBefore(h("div", { class: "nbflow-error nbflow-form-error", text: message }), foot);
  };

  if (spec.kind === "schema") {
    controls = (spec.fields ?? []).map(fieldControl);
    controls.forEach((c) => body.append(c.wrap));
    collect = () => {
      const r = readFields(controls, spec.object !== false);
      return r ? { value: r.value } : null;
    };
  } else if (spec.kind === "options") {
    let chosen = -1;
    const row = h("div", { class: "nbflow-options" });
    for (const o of spec.options ?? []) {
      const b = h("button", { type: "button", class: "nbflow-option", "data-testid": "nbflow-option", "data-option": o.index, "aria-pressed": "false", text: o.label });
      b.addEventListener("click", () => {
        chosen = o.index;
        row.querySelectorAll(".nbflow-option").forEach((x) => x.setAttribute("aria-pressed", String(x === b)));
        form.requestSubmit(submit);
      });
      row.append(b);
    }
    body.append(row);
    collect = () => {
      if (chosen < 0) {
        formError("choose one of the options");
        return null;
      }
      return { option: chosen };
    };
  } else if (spec.kind === "inbox") {
    const actions = spec.actions ?? ["response"];
    let action = actions[0];
    const bar = h("div", { class: "nbflow-actions", role: "group", "aria-label": "answer" }, h("span", { class: "nbflow-muted", text: "Answer:" }));
    const editPanel = h("div", { class: "nbflow-panel", "data-panel": "edit" });
    const respondPanel = h("div", { class: "nbflow-panel", "data-panel": "response" });
    controls = (spec.fields ?? []).map(fieldControl);
    controls.forEach((c) => editPanel.append(c.wrap));
    const answer = h("textarea", { rows: 3, "data-testid": "nbflow-answer", placeholder: "Your response" });
    respondPanel.append(answer);
    const select = (a: string) => {
      action = a as typeof action;
      bar.querySelectorAll(".nbflow-action").forEach((x) => x.setAttribute("aria-pressed", String(x.getAttribute("data-action") === a)));
      editPanel.hidden = a !== "edit";
      respondPanel.hidden = a !== "response";
      clearErrors();
    };
    for (const a of actions) {
      const b = h("button", { type: "button", class: "nbflow-action", "data-action": a, text: ACTION_LABELS[a] ?? a });
      b.addEventListener("click", () => select(a));
      bar.append(b);
    }
    append(body, bar, editPanel, respondPanel);
    select(action);
    collect = () => {
      if (action === "edit") {
        const r = readFields(controls, true);
        return r ? { value: { type: "edit", args: r.value } } : null;
      }
      if (action === "response") {
        if (!answer.value.trim()) {
          formError("write a response first");
          return null;
        }
        return { value: { type: "response", args: answer.value } };
      }
      return { value: { type: action, args: null } };
    };
  } else {
    const answer = h("textarea", { rows: 2, "data-testid": "nbflow-answer", placeholder: "Your answer", "aria-label": "Your answer" });
    const json = h("input", { type: "checkbox", "data-testid": "nbflow-json" });
    const toggle = h("label", { class: "nbflow-json-toggle", title: "Read the answer as a Python value written in JSON: numbers, true/false, lists [..], objects {..}" },
      json, " Answer is a value (number, list, object), not text");
    append(body, answer, toggle);
    collect = () => {
      if (!json.checked) return { value: answer.value };
      try {
        return { value: JSON.parse(answer.value) };
      } catch (e) {
        formError(`this is not a value nbflow can read: ${(e as Error).message}. Untick "Answer is a value" to send it as text.`);
        return null;
      }
    };
  }
  const multi = form.querySelector("textarea") !== null;
  const hint = h("span", { class: "nbflow-hint", text: multi ? "Ctrl+Enter sends · Esc leaves the form" : "Enter sends · Esc leaves the form" });
  const foot = h("div", { class: "nbflow-form-foot" }, submit, hint, state);
  append(form, foot);

  const read = (): Record<string, unknown> | null => {
    clearErrors();
    return collect();
  };
  const sending = () => {
    form.dataset.sending = "true";
    submit.disabled = true;
    state.textContent = "sending…";
    // The kernel handles widget messages between cells: say so if a busy cell holds the answer back.
    window.setTimeout(() => {
      if (form.dataset.sending === "true") state.textContent = "sent; the kernel will take it when the running cell finishes";
    }, 5000);
  };
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    if (form.dataset.sending === "true" || form.dataset.answered === "true") return;
    const answer = read();
    if (!answer) return;
    if (send(msg("resume", { id: spec.id, ...answer, ...extra }))) sending();
  });
  form.addEventListener("keydown", (e) => {
    if (e.key === "Escape") {
      // Leave the form; the key goes on to JupyterLab (command mode).
      (document.activeElement as HTMLElement | null)?.blur();
      return;
    }
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      form.requestSubmit(submit);
    }
    // Other keys typed into the form must not reach JupyterLab's notebook shortcuts.
    e.stopPropagation();
  });
  // Drafts: what was typed survives a re-render of the view; an error goes away once its field is edited.
  const save = (e: Event) => {
    const t = e.target as HTMLInputElement;
    const key = controlKey(t);
    if (key) drafts[key] = t.type === "checkbox" ? t.checked : t.value;
    const wrap = t.closest(".nbflow-field");
    wrap?.querySelectorAll(".nbflow-error").forEach((x) => x.remove());
    t.removeAttribute("aria-invalid");
    form.querySelectorAll(".nbflow-form-error").forEach((x) => x.remove());
  };
  form.addEventListener("input", save);
  form.addEventListener("change", save);
  form.querySelectorAll("input, textarea, select").forEach((el) => {
    const key = controlKey(el);
    if (key === null || !(key in drafts)) return;
    const v = drafts[key];
    if (typeof v === "boolean") (el as HTMLInputElement).checked = v;
    else (el as HTMLInputElement).value = v;
  });
  const controlsOff = () => form.querySelectorAll("button, input, textarea, select").forEach((x) => ((x as HTMLButtonElement).disabled = true));

  return {
    el: form,
    id: spec.id,
    read,
    sending,
    answered(q: Question) {
      if (form.dataset.answered === "true") return;
      form.dataset.answered = "true";
      delete form.dataset.sending;
      form.classList.add("nbflow-answered");
      controlsOff();
      hint.remove();
      state.textContent = "";
      clearErrors();
      const line = q.state === "superseded"
        ? h("div", { class: "nbflow-answer-line", "data-testid": "nbflow-superseded" }, icon("superseded"), " No longer asked: the thread moved on (a new invocation started).")
        : h("div", { class: "nbflow-answer-line", "data-testid": "nbflow-answered" }, icon("answer"), " Answered ", h("code", { text: q.answer }),
            h("span", { class: "nbflow-muted", text: ` from ${q.origin}` }));
      form.insertBefore(line, body);
      body.hidden = true;
      foot.hidden = true;
    },
    disable(reason: string) {
      controlsOff();
      delete form.dataset.sending;
      state.textContent = "";
      form.querySelectorAll(".nbflow-disabled-why").forEach((x) => x.remove());
      foot.append(h("span", { class: "nbflow-disabled-why", text: reason }));
    },
    showErrors(message: string, errors: FieldError[]) {
      clearErrors();
      delete form.dataset.sending;
      submit.disabled = false;
      state.textContent = "";
      let unplaced = errors.length === 0;
      for (const err of errors) {
        const ctrl = controls.find((c) => c.spec.name === err.field)
          ?? (spec.object === false && controls.length === 1 ? controls[0] : undefined);
        if (ctrl) setFieldError(ctrl, err.message);
        else unplaced = true;
      }
      if (unplaced && message) formError(message);
    },
  };
}
