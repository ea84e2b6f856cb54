// src/protocol.ts
function msg(kind, fields = {}) {
  return { kind, v: 1, ...fields };
}

// src/dom.ts
function h(tag, attrs = {}, ...children) {
  let el = document.createElement(tag);
  for (let [key, value] of Object.entries(attrs))
    value == null || value === !1 || (key === "class" ? el.className = String(value) : key === "text" ? el.textContent = String(value) : el.setAttribute(key, value === !0 ? "" : String(value)));
  return append(el, ...children), el;
}
function append(el, ...children) {
  for (let c of children)
    c == null || c === !1 || el.append(typeof c == "string" ? document.createTextNode(c) : c);
}
function clear(el) {
  for (; el.firstChild; ) el.removeChild(el.firstChild);
}
function duration(seconds) {
  if (seconds == null || !isFinite(seconds)) return "";
  if (seconds < 10) return `${seconds.toFixed(2)} s`;
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  let m = Math.floor(seconds / 60), s = Math.floor(seconds % 60);
  return `${m} min ${String(s).padStart(2, "0")} s`;
}
function badge(text, kind = "") {
  return h("span", { class: `nbflow-badge${kind ? " nbflow-badge-" + kind : ""}`, text });
}
function stickToBottom(box, update) {
  let atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 24;
  update(), atBottom && (box.scrollTop = box.scrollHeight);
}

// src/forms.ts
var ACTION_LABELS = { accept: "Accept", edit: "Edit", response: "Respond", ignore: "Ignore" };
function renderValue(view) {
  if (view.type === "fields" && view.fields) {
    let dl = h("dl", { class: "nbflow-value-fields" });
    for (let f of view.fields)
      append(
        dl,
        h("dt", { text: f.label }),
        h("dd", { class: f.long ? "nbflow-long" : "", text: f.text })
      );
    return dl;
  }
  return view.type === "text" ? h("div", { class: `nbflow-value${view.long ? " nbflow-long" : ""}`, text: view.text ?? "" }) : null;
}
function checkNumber(spec, n) {
  return spec.type === "integer" && !Number.isInteger(n) ? "enter a whole number" : spec.minimum !== void 0 && n < spec.minimum ? `must be \u2265 ${spec.minimum}` : spec.maximum !== void 0 && n > spec.maximum ? `must be \u2264 ${spec.maximum}` : spec.exclusiveMinimum !== void 0 && n <= spec.exclusiveMinimum ? `must be > ${spec.exclusiveMinimum}` : spec.exclusiveMaximum !== void 0 && n >= spec.exclusiveMaximum ? `must be < ${spec.exclusiveMaximum}` : null;
}
function checkString(spec, s) {
  if (spec.minLength !== void 0 && s.length < spec.minLength) return `at least ${spec.minLength} characters`;
  if (spec.maxLength !== void 0 && s.length > spec.maxLength) return `at most ${spec.maxLength} characters`;
  if (spec.pattern)
    try {
      if (!new RegExp(spec.pattern, "u").test(s)) return `must match ${spec.pattern}`;
    } catch {
    }
  return null;
}
function fieldControl(spec) {
  let id = `nbflow-f-${Math.random().toString(36).slice(2)}`, input, dflt = spec.default;
  if (spec.type === "boolean") {
    let cb = h("input", { type: "checkbox", id, "data-field": spec.name });
    cb.checked = dflt === !0, input = cb;
  } else if (spec.type === "enum") {
    let sel = h("select", { id, "data-field": spec.name }), values = spec.enum ?? [], labels = spec.enum_labels ?? values.map((v) => JSON.stringify(v)), dIndex = values.findIndex((v) => JSON.stringify(v) === JSON.stringify(dflt));
    dIndex < 0 && sel.append(h("option", { value: "", text: "\u2014 choose \u2014" })), values.forEach((_v, i) => sel.append(h("option", { value: String(i), text: labels[i] }))), dIndex >= 0 && (sel.value = String(dIndex)), input = sel;
  } else if (spec.type === "json" || spec.type === "string" && spec.multiline) {
    let ta = h("textarea", { id, rows: spec.type === "json" ? 4 : 3, "data-field": spec.name });
    dflt !== void 0 && (ta.value = spec.type === "json" ? JSON.stringify(dflt, null, 2) : String(dflt ?? "")), input = ta;
  } else {
    let numeric = spec.type === "integer" || spec.type === "number", inp = h("input", {
      id,
      type: numeric ? "number" : "text",
      "data-field": spec.name,
      step: numeric ? spec.type === "integer" ? "1" : "any" : null
    });
    dflt != null && (inp.value = String(dflt)), input = inp;
  }
  let label = h("label", { for: id, class: "nbflow-label" }, spec.label, spec.required ? h("span", { class: "nbflow-req", text: " *" }) : null), wrap = h("div", { class: `nbflow-field nbflow-field-${spec.type}` });
  return spec.type === "boolean" ? append(wrap, input, label) : append(wrap, label, input), spec.description && append(wrap, h("div", { class: "nbflow-help", text: spec.description })), { spec, wrap, input, read: () => {
    let raw;
    if (spec.type === "boolean") return { ok: !0, value: input.checked };
    if (raw = input.value, spec.type === "string" ? raw === "" : raw.trim() === "")
      return spec.required && !spec.nullable ? { ok: !1, error: "required" } : spec.required ? { ok: !0, value: null } : { ok: !0 };
    if (spec.type === "enum") return { ok: !0, value: (spec.enum ?? [])[Number(raw)] };
    if (spec.type === "integer" || spec.type === "number") {
      let n = Number(raw.trim());
      if (!isFinite(n)) return { ok: !1, error: "enter a number" };
      let problem2 = checkNumber(spec, n);
      return problem2 ? { ok: !1, error: problem2 } : { ok: !0, value: n };
    }
    if (spec.type === "json")
      try {
        return { ok: !0, value: JSON.parse(raw) };
      } catch (e) {
        return { ok: !1, error: `not valid JSON (${e.message})` };
      }
    let problem = checkString(spec, raw);
    return problem ? { ok: !1, error: problem } : { ok: !0, value: raw };
  } };
}
function setFieldError(ctrl, message) {
  append(ctrl.wrap, h("div", { class: "nbflow-error", text: message })), ctrl.input.setAttribute("aria-invalid", "true");
}
function readFields(controls, asObject) {
  let out = {}, bad = !1;
  for (let c of controls) {
    let r = c.read();
    r.ok ? "value" in r && (out[c.spec.name] = r.value) : (setFieldError(c, r.error), bad = !0);
  }
  return bad ? null : { value: asObject ? out : out[controls[0]?.spec.name ?? "value"] };
}
function renderForm(spec, send, extra = {}) {
  let form = h("form", { class: "nbflow-interrupt", "data-interrupt-id": spec.id, "data-kind": spec.kind }), who = spec.task ? ` from ${spec.task}` : "";
  append(form, h(
    "div",
    { class: "nbflow-form-head" },
    h("span", { class: "nbflow-q", text: "?" }),
    spec.kind === "inbox" ? spec.action || "Review" : spec.title || `Question${who}`
  )), spec.kind === "inbox" && spec.description && append(form, h("div", { class: "nbflow-value nbflow-long", text: spec.description }));
  let shown = renderValue(spec.display);
  shown && append(form, shown);
  let submit = h("button", { type: "submit", class: "nbflow-submit", "data-testid": "nbflow-submit", text: "Send" }), state = h("span", { class: "nbflow-form-state" }), body = h("div", { class: "nbflow-form-body" });
  append(form, body);
  let controls = [], collect, clearErrors = () => {
    form.querySelectorAll(".nbflow-error").forEach((e) => e.remove()), form.querySelectorAll("[aria-invalid]").forEach((e) => e.removeAttribute("aria-invalid"));
  }, formError = (message) => {
    form.insertBefore(h("div", { class: "nbflow-error nbflow-form-error", text: message }), foot);
  };
  if (spec.kind === "schema")
    controls = (spec.fields ?? []).map(fieldControl), controls.forEach((c) => body.append(c.wrap)), collect = () => {
      let r = readFields(controls, spec.object !== !1);
      return r ? { value: r.value } : null;
    };
  else if (spec.kind === "options") {
    let chosen = -1, row = h("div", { class: "nbflow-options" });
    for (let o of spec.options ?? []) {
      let b = h("button", { type: "button", class: "nbflow-option", "data-testid": "nbflow-option", "data-option": o.index, "aria-pressed": "false", text: o.label });
      b.addEventListener("click", () => {
        chosen = o.index, row.querySelectorAll(".nbflow-option").forEach((x) => x.setAttribute("aria-pressed", String(x === b))), form.requestSubmit(submit);
      }), row.append(b);
    }
    body.append(row), collect = () => chosen < 0 ? (formError("choose one of the options"), null) : { option: chosen };
  } else if (spec.kind === "inbox") {
    let actions = spec.actions ?? ["response"], action = actions[0], bar = h("div", { class: "nbflow-actions", role: "group", "aria-label": "answer" }, h("span", { class: "nbflow-muted", text: "Answer:" })), editPanel = h("div", { class: "nbflow-panel", "data-panel": "edit" }), respondPanel = h("div", { class: "nbflow-panel", "data-panel": "response" });
    controls = (spec.fields ?? []).map(fieldControl), controls.forEach((c) => editPanel.append(c.wrap));
    let answer = h("textarea", { rows: 3, "data-testid": "nbflow-answer", placeholder: "Your response" });
    respondPanel.append(answer);
    let select = (a) => {
      action = a, bar.querySelectorAll(".nbflow-action").forEach((x) => x.setAttribute("aria-pressed", String(x.getAttribute("data-action") === a))), editPanel.hidden = a !== "edit", respondPanel.hidden = a !== "response", clearErrors();
    };
    for (let a of actions) {
      let b = h("button", { type: "button", class: "nbflow-action", "data-action": a, text: ACTION_LABELS[a] ?? a });
      b.addEventListener("click", () => select(a)), bar.append(b);
    }
    append(body, bar, editPanel, respondPanel), select(action), collect = () => {
      if (action === "edit") {
        let r = readFields(controls, !0);
        return r ? { value: { type: "edit", args: r.value } } : null;
      }
      return action === "response" ? answer.value.trim() ? { value: { type: "response", args: answer.value } } : (formError("write a response first"), null) : { value: { type: action, args: null } };
    };
  } else {
    let answer = h("textarea", { rows: 2, "data-testid": "nbflow-answer", placeholder: "Your answer" }), json = h("input", { type: "checkbox", "data-testid": "nbflow-json" }), toggle = h("label", { class: "nbflow-json-toggle", title: "Send the answer as JSON (numbers, lists, objects)" }, json, " JSON");
    append(body, answer, toggle), collect = () => {
      if (!json.checked) return { value: answer.value };
      try {
        return { value: JSON.parse(answer.value) };
      } catch (e) {
        return formError(`not valid JSON (${e.message})`), null;
      }
    }, answer.addEventListener("keydown", (e) => {
      e.key === "Enter" && (e.metaKey || e.ctrlKey) && (e.preventDefault(), form.requestSubmit(submit));
    });
  }
  let foot = h("div", { class: "nbflow-form-foot" }, submit, state);
  return append(form, foot), form.addEventListener("submit", (e) => {
    if (e.preventDefault(), form.dataset.sending === "true") return;
    clearErrors();
    let answer = collect();
    answer && (form.dataset.sending = "true", submit.disabled = !0, state.textContent = "sending\u2026", send(msg("resume", { id: spec.id, ...answer, ...extra })));
  }), form.addEventListener("keydown", (e) => e.stopPropagation()), {
    el: form,
    showErrors(message, errors) {
      clearErrors(), delete form.dataset.sending, submit.disabled = !1, state.textContent = "";
      let unplaced = errors.length === 0;
      for (let err of errors) {
        let ctrl = controls.find((c) => c.spec.name === err.field) ?? (spec.object === !1 && controls.length === 1 ? controls[0] : void 0);
        ctrl ? setFieldError(ctrl, err.message) : unplaced = !0;
      }
      unplaced && formError(message);
    }
  };
}

// src/run.ts
var MAX_ROWS = 2e3, MARKS = { running: "\u2026", ok: "\u2713", error: "\u2717", interrupted: "\u23F8" };
function entryRow(e) {
  let row = h("div", { class: "nbflow-entry", "data-kind": e.kind, "data-id": e.id });
  return e.depth && (row.style.paddingLeft = `${e.depth * 1.2 + 0.4}em`), fillRow(row, e), row;
}
function fillRow(row, e) {
  switch (clear(row), e.state && (row.dataset.state = e.state), e.kind) {
    case "task": {
      let state = e.state ?? "running";
      append(row, h("span", { class: "nbflow-mark", text: MARKS[state] ?? "?" }), h("span", { class: "nbflow-task-name", text: e.name ?? "" })), e.cached && append(row, badge("cached", "cached")), e.replayed && append(row, badge("replayed", "replayed")), state !== "running" && e.duration !== void 0 && !e.replayed && append(row, h("span", { class: "nbflow-duration", text: duration(e.duration) })), state === "ok" && e.preview && append(row, h("span", { class: "nbflow-arrow", text: "\u2192" }), h("code", { class: "nbflow-preview", text: e.preview })), state === "error" && append(row, h("span", { class: "nbflow-error-text", text: e.error ?? "error" })), state === "interrupted" && append(row, h("span", { class: "nbflow-muted", text: "waiting for an answer" }));
      break;
    }
    case "message":
      append(
        row,
        h("span", { class: "nbflow-mark", text: "\u{1F4AC}" }),
        e.node ? h("span", { class: "nbflow-task-name", text: e.node }) : null,
        h("div", { class: "nbflow-message", text: e.text ?? "" })
      );
      break;
    case "custom":
      append(row, h("span", { class: "nbflow-mark", text: "\xB7" }), h("code", { class: "nbflow-preview", text: e.text ?? "" }));
      break;
    case "interrupt":
      append(row, h("span", { class: "nbflow-mark", text: "?" }), h("span", { text: "asked" + (e.task ? ` in ${e.task}` : "") + ": " }), h("code", { class: "nbflow-preview", text: e.text ?? "" }));
      break;
    case "answer":
      append(row, h("span", { class: "nbflow-mark", text: "\u21B3" }), h("span", { text: "answer: " }), h("code", { class: "nbflow-preview", text: e.text ?? "" }));
      break;
    case "error":
      append(row, h("span", { class: "nbflow-mark", text: "\u2717" }), h("span", { class: "nbflow-error-text", text: e.text ?? "" }));
      break;
    default:
      append(row, h("span", { class: "nbflow-muted", text: e.text ?? "" }));
  }
}
function renderRun(model, el) {
  let root = h("div", { class: "nbflow-run", "data-status": model.get("status"), "data-lm-suppress-shortcuts": "true" }), name = h("span", { class: "nbflow-name" }), thread = h("span", { class: "nbflow-thread" }), status = h("span", { class: "nbflow-status" }), elapsed = h("span", { class: "nbflow-elapsed" }), progressBar = h("span", { class: "nbflow-progress-bar" }), progress = h("span", { class: "nbflow-progress", title: "tasks finished / started" }, h("span", { class: "nbflow-progress-track" }, progressBar), h("span", { class: "nbflow-progress-text" })), header = h("div", { class: "nbflow-header" }, name, thread, status, elapsed, progress), omitted = h("div", { class: "nbflow-muted nbflow-omitted", hidden: !0 }), log = h("div", { class: "nbflow-log", role: "log", "aria-live": "polite" }), errorBox = h("div", { class: "nbflow-run-error", hidden: !0 }), formsBox = h("div", { class: "nbflow-forms" }), resultBox = h("div", { class: "nbflow-result-box", hidden: !0 });
  append(root, header, omitted, log, errorBox, formsBox, resultBox), el.append(root);
  let rows = /* @__PURE__ */ new Map(), seq = -1, awaiting = !0, elapsedBase = 0, elapsedAt = performance.now(), forms = /* @__PURE__ */ new Map(), trim = () => {
    for (; rows.size > MAX_ROWS; ) {
      let first = rows.keys().next().value;
      rows.get(first)?.row.remove(), rows.delete(first);
    }
  }, applyOp = (op) => {
    if (op.op === "append") {
      let row = entryRow(op.entry);
      rows.set(op.entry.id, { entry: op.entry, row }), log.append(row);
    } else if (op.op === "patch") {
      let item = rows.get(op.id);
      item && (Object.assign(item.entry, op.set), fillRow(item.row, item.entry));
    } else if (op.op === "text") {
      let item = rows.get(op.id);
      if (item) {
        item.entry.text = (item.entry.text ?? "") + op.text;
        let box = item.row.querySelector(".nbflow-message");
        box && (box.textContent = item.entry.text);
      }
    }
  }, onSnapshot = (m) => {
    stickToBottom(log, () => {
      clear(log), rows.clear();
      for (let e of m.entries) applyOp({ op: "append", entry: e });
      trim();
    }), omitted.hidden = !m.omitted, omitted.textContent = m.omitted ? `${m.omitted} earlier log entries are not shown` : "", seq = m.seq, awaiting = !1;
  }, onBatch = (m) => {
    awaiting || m.seq <= seq || (stickToBottom(log, () => {
      for (let op of m.ops) applyOp(op);
      trim();
    }), seq = m.seq);
  }, onResumeError = (m) => forms.get(m.id)?.showErrors(m.message, m.errors ?? []), onCustom = (content) => {
    !content || typeof content != "object" || (content.kind === "snapshot" ? onSnapshot(content) : content.kind === "batch" ? onBatch(content) : content.kind === "resume_error" && onResumeError(content));
  }, tick = () => {
    let secs = model.get("status") === "running" ? elapsedBase + (performance.now() - elapsedAt) / 1e3 : elapsedBase;
    elapsed.textContent = model.get("header")?.started_at ? duration(secs) : "";
  }, onHeader = () => {
    let hd = model.get("header") ?? {};
    name.textContent = hd.name ?? "", thread.textContent = hd.thread_id ? `thread ${hd.thread_id}` : "", elapsedBase = hd.elapsed ?? 0, elapsedAt = performance.now();
    let done = hd.tasks_done ?? 0, started = hd.tasks_started ?? 0;
    progress.lastChild.textContent = `${done}/${started} tasks` + (hd.custom ? ` \xB7 ${hd.custom} events` : ""), progressBar.style.width = started ? `${Math.round(100 * done / started)}%` : "0%", errorBox.hidden = !hd.error || model.get("status") !== "error", errorBox.textContent = hd.error ?? "", tick();
  }, onStatus = () => {
    let st = model.get("status") ?? "idle";
    root.dataset.status = st, status.textContent = st, status.dataset.status = st, onHeader();
  }, onForms = () => {
    let specs = model.get("forms") ?? [];
    clear(formsBox), forms = /* @__PURE__ */ new Map();
    for (let spec of specs) {
      let handle = renderForm(spec, (m) => model.send(m));
      forms.set(spec.id, handle), formsBox.append(handle.el);
    }
  }, onResult = () => {
    let r = model.get("result") ?? {};
    clear(resultBox), resultBox.hidden = r.text === void 0, r.text !== void 0 && append(resultBox, h("div", { class: "nbflow-result-label", text: "Result" }), h("pre", { class: "nbflow-result", "data-testid": "nbflow-result", text: r.text }));
  };
  model.on("msg:custom", onCustom), model.on("change:status", onStatus), model.on("change:header", onHeader), model.on("change:forms", onForms), model.on("change:result", onResult), onStatus(), onForms(), onResult();
  let timer = window.setInterval(() => {
    model.get("status") === "running" && tick();
  }, 250);
  return model.send(msg("snapshot_request")), () => {
    window.clearInterval(timer), model.off("msg:custom", onCustom), model.off("change:status", onStatus), model.off("change:header", onHeader), model.off("change:forms", onForms), model.off("change:result", onResult);
  };
}

// src/timeline.ts
function gantt(inv) {
  let box = h("div", { class: "nbflow-gantt" }), span = inv.span > 0 ? inv.span : 1;
  for (let t of inv.tasks) {
    let left = Math.min(100, 100 * t.offset / span), width = Math.max(0.6, Math.min(100 - left, 100 * t.duration / span)), bar = h("div", {
      class: "nbflow-bar",
      "data-outcome": t.outcome,
      title: `${t.name} \xB7 ${duration(t.duration)}${t.result ? " \u2192 " + t.result : ""}${t.error ? " \xB7 " + t.error : ""}`
    });
    bar.style.left = `${left}%`, bar.style.width = `${width}%`;
    let label = h("div", { class: "nbflow-gantt-label", text: t.name });
    label.style.paddingLeft = `${t.depth}em`, box.append(h("div", { class: "nbflow-gantt-row", "data-task": t.i }, label, h("div", { class: "nbflow-gantt-track" }, bar)));
  }
  return inv.tasks.length && box.append(h(
    "div",
    { class: "nbflow-gantt-row nbflow-gantt-axis" },
    h("div", { class: "nbflow-gantt-label" }),
    h("div", { class: "nbflow-gantt-track" }, h("span", { text: "0" }), h("span", { class: "nbflow-axis-end", text: duration(inv.span) }))
  )), box;
}
function details(inv, send) {
  let box = h("div", { class: "nbflow-details" });
  if (inv.status !== "update") {
    let replay = h("button", { type: "button", class: "nbflow-button", "data-testid": "nbflow-replay", text: "Replay from here" });
    replay.addEventListener("click", () => send(msg("replay", { index: inv.index }))), box.append(h("div", { class: "nbflow-details-actions" }, replay));
  }
  inv.value && append(box, h("div", { class: "nbflow-result-label", text: inv.status === "update" ? "Saved state" : "Return value" }), h("pre", { class: "nbflow-result", text: inv.value })), inv.error && append(box, h("div", { class: "nbflow-run-error", text: inv.error }));
  for (let a of inv.asked)
    append(box, h(
      "div",
      { class: "nbflow-entry", "data-kind": "interrupt" },
      h("span", { class: "nbflow-mark", text: "?" }),
      h("code", { text: a.value }),
      a.answered ? h("span", { text: "  \u21B3 " }) : badge("waiting"),
      a.answered ? h("code", { text: a.answer }) : null
    ));
  let table = h("div", { class: "nbflow-task-table" });
  for (let t of inv.tasks) {
    let row = h(
      "div",
      { class: "nbflow-entry", "data-kind": "task", "data-state": t.outcome === "cached" ? "ok" : t.outcome },
      h("span", { class: "nbflow-mark", text: t.outcome === "error" ? "\u2717" : t.outcome === "interrupted" ? "\u23F8" : "\u2713" }),
      h("span", { class: "nbflow-task-name", text: t.name }),
      t.outcome === "cached" ? badge("cached", "cached") : null,
      h("span", { class: "nbflow-duration", text: duration(t.duration) }),
      t.result ? h("code", { class: "nbflow-preview", text: t.result }) : null,
      t.error ? h("span", { class: "nbflow-error-text", text: t.error }) : null
    );
    if (t.fork !== null) {
      let fork = h("button", { type: "button", class: "nbflow-button nbflow-small", "data-testid": "nbflow-fork-open", text: "Fork from this task" });
      fork.addEventListener("click", () => {
        fork.hidden = !0;
        let value = h("textarea", { rows: 2, "data-testid": "nbflow-fork-value", placeholder: "new result as JSON (or text); leave empty to run this task again" }), go = h("button", { type: "button", class: "nbflow-button", "data-testid": "nbflow-fork", text: "Fork" }), cancel = h("button", { type: "button", class: "nbflow-button nbflow-quiet", text: "Cancel" }), editor = h("div", { class: "nbflow-fork-editor" }, value, go, cancel);
        go.addEventListener("click", () => {
          let text = value.value.trim(), fields = { invocation: inv.index, task: t.i };
          if (text)
            try {
              fields.value = JSON.parse(text);
            } catch {
              fields.value = value.value;
            }
          send(msg("fork", fields)), editor.remove(), fork.hidden = !1;
        }), cancel.addEventListener("click", () => {
          editor.remove(), fork.hidden = !1;
        }), row.after(editor);
      }), row.append(fork);
    }
    table.append(row);
  }
  return box.append(table), box;
}
function renderTimeline(model, el) {
  let root = h("div", { class: "nbflow-timeline", "data-lm-suppress-shortcuts": "true" }), title = h("span", { class: "nbflow-name" }), refresh = h("button", { type: "button", class: "nbflow-button nbflow-quiet", text: "\u21BB Refresh" });
  refresh.addEventListener("click", () => model.send(msg("refresh")));
  let errorBox = h("div", { class: "nbflow-error", hidden: !0 }), list = h("div", { class: "nbflow-invocations" });
  append(root, h("div", { class: "nbflow-header" }, title, refresh), errorBox, list), el.append(root);
  let selected = -1, draw = () => {
    let data = model.get("data") ?? { name: "", thread_id: "", invocations: [] }, n = data.invocations.length;
    title.textContent = `${data.name} \xB7 thread ${data.thread_id} \xB7 ${n} invocation${n === 1 ? "" : "s"}`, (selected < 0 || selected >= n) && (selected = n - 1), clear(list);
    for (let inv of data.invocations) {
      let card = h("div", { class: "nbflow-inv", "data-index": inv.index, "data-status": inv.status, "aria-selected": String(inv.index === selected) }), head = h(
        "button",
        { type: "button", class: "nbflow-inv-head" },
        h("span", { class: "nbflow-inv-index", text: `#${inv.index}` }),
        h("span", { class: "nbflow-status", "data-status": inv.status, text: inv.status }),
        inv.status === "update" ? h("span", { text: "state edited" }) : h("code", { class: "nbflow-preview", text: inv.input }),
        inv.forked_from ? badge("fork", "fork") : null,
        h("span", { class: "nbflow-duration", text: inv.ended_at ? duration(inv.ended_at - inv.started_at) : "" }),
        inv.preview ? h("span", { class: "nbflow-arrow", text: "\u2192" }) : null,
        inv.preview ? h("code", { class: "nbflow-preview", text: inv.preview }) : null
      );
      head.addEventListener("click", () => {
        selected = inv.index, draw();
      }), append(card, head, inv.tasks.length ? gantt(inv) : null), inv.index === selected && card.append(details(inv, (m) => model.send(m))), list.append(card);
    }
  }, onCustom = (content) => {
    content?.kind === "action_error" && (errorBox.hidden = !1, errorBox.textContent = content.message);
  }, onData = () => {
    errorBox.hidden = !0, draw();
  };
  return model.on("change:data", onData), model.on("msg:custom", onCustom), draw(), () => {
    model.off("change:data", onData), model.off("msg:custom", onCustom);
  };
}

// src/inbox.ts
function renderInbox(model, el) {
  let root = h("div", { class: "nbflow-inbox", "data-lm-suppress-shortcuts": "true" }), title = h("span", { class: "nbflow-name" }), refresh = h("button", { type: "button", class: "nbflow-button nbflow-quiet", text: "\u21BB Refresh" });
  refresh.addEventListener("click", () => model.send(msg("refresh")));
  let list = h("div", { class: "nbflow-inbox-items" });
  append(root, h("div", { class: "nbflow-header" }, title, refresh), list), el.append(root);
  let handles = /* @__PURE__ */ new Map(), drawn = /* @__PURE__ */ new Map(), draw = () => {
    let items = model.get("data") ?? [];
    title.textContent = items.length ? `Inbox \xB7 ${items.length} waiting for input` : "Inbox";
    let keep = new Set(items.map((i) => i.key));
    for (let [key, d] of drawn) keep.has(key) || (d.el.remove(), drawn.delete(key));
    clear(list), items.length || list.append(h("div", { class: "nbflow-muted", text: "Nothing is waiting for input." }));
    let next = /* @__PURE__ */ new Map();
    for (let item of items) {
      let sig = JSON.stringify(item), d = drawn.get(item.key);
      if (!d || d.sig !== sig) {
        let card = h(
          "div",
          { class: "nbflow-inbox-item", "data-thread-id": item.thread_id, "data-workflow": item.workflow, "data-state": item.state },
          h(
            "div",
            { class: "nbflow-inbox-title" },
            h("b", { text: item.workflow }),
            ` \xB7 thread ${item.thread_id}`,
            item.state === "running" ? h("span", { class: "nbflow-muted", text: " \xB7 running\u2026" }) : null
          )
        );
        item.message && card.append(h("div", { class: "nbflow-error", text: item.message }));
        for (let spec of item.forms) {
          let handle = renderForm(spec, (m) => model.send(m), { thread_id: item.thread_id, workflow: item.workflow });
          item.state === "running" && handle.el.querySelectorAll("button, input, textarea, select").forEach((x) => x.disabled = !0), next.set(`${item.key}#${spec.id}`, handle), card.append(handle.el);
        }
        d = { sig, el: card }, drawn.set(item.key, d);
      } else
        for (let spec of item.forms) {
          let old = handles.get(`${item.key}#${spec.id}`);
          old && next.set(`${item.key}#${spec.id}`, old);
        }
      list.append(d.el);
    }
    handles = next;
  }, onCustom = (content) => {
    if (content?.kind === "resume_error")
      for (let [key, handle] of handles)
        key.endsWith(`/${content.thread_id}#${content.id}`) && handle.showErrors(content.message, content.errors ?? []);
  };
  return model.on("change:data", draw), model.on("msg:custom", onCustom), draw(), () => {
    model.off("change:data", draw), model.off("msg:custom", onCustom);
  };
}

// src/index.ts
function render({ model, el }) {
  let kind = model.get("_kind");
  return kind === "timeline" ? renderTimeline(model, el) : kind === "inbox" ? renderInbox(model, el) : renderRun(model, el);
}
var index_default = { render };
export {
  index_default as default
};
