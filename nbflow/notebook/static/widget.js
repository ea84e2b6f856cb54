// src/protocol.ts
function msg(kind, fields = {}) {
  return { kind, v: 2, ...fields };
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

// src/rows.ts
var ROW_ICON = { running: "running", ok: "ok", cached: "ok", error: "error", waiting: "waiting", stopped: "stopped" }, WINDOW_FROM = 300, OVERSCAN = 30, ROW_PX = 22, DEFAULT_VISIBLE = 24;
function sortKey(key) {
  let i = key.indexOf("|"), path = key.slice(i + 1);
  return [key.slice(0, i), /^[0-9.]+$/.test(path) ? path.split(".").map(Number) : [1 << 30]];
}
function before(a, b) {
  let [na, pa] = sortKey(a), [nb, pb] = sortKey(b);
  if (na !== nb) return na < nb;
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) if (pa[i] !== pb[i]) return pa[i] < pb[i];
  return pa.length < pb.length;
}
function esc(text) {
  return text.replace(/[&<>"]/g, (c) => c === "&" ? "&amp;" : c === "<" ? "&lt;" : c === ">" ? "&gt;" : "&quot;");
}
function rowInner(r) {
  if (r.kind === "message")
    return `<span class="nbflow-mark" data-icon="message"></span>${r.name ? `<span class="nbflow-task-name">${esc(r.name)}</span>` : ""}<div class="nbflow-message">${esc(r.text)}</div>`;
  let html = `<span class="nbflow-mark" data-icon="${ROW_ICON[r.state] ?? "question"}" title="${esc(r.state)}"></span><span class="nbflow-task-name">${esc(r.name)}</span>`;
  return r.cached && (html += '<span class="nbflow-badge nbflow-badge-cached">cached</span>'), r.replayed && (html += '<span class="nbflow-badge nbflow-badge-replayed" title="This result was read back from the checkpoint, not computed again">from checkpoint</span>'), r.state !== "running" && !r.replayed && r.duration && (html += `<span class="nbflow-duration">${esc(duration(r.duration))}</span>`), (r.state === "ok" || r.state === "cached") && r.preview && (html += `<span class="nbflow-arrow">\u2192</span><code class="nbflow-preview">${esc(r.preview)}</code>`), r.state === "error" && (html += `<span class="nbflow-error-text">${esc(r.error)}</span>`), r.state === "stopped" && (html += `<span class="nbflow-muted nbflow-abandoned">${esc(r.error)}</span>`), r.state === "waiting" && (html += '<span class="nbflow-muted">waiting for an answer</span>'), html;
}
function rowHtml(r, index) {
  let pad = r.depth ? ` style="padding-left:${r.depth * 1.2 + 0.4}em"` : "";
  return `<div class="nbflow-entry" role="listitem" aria-setsize="-1" aria-posinset="${index + 1}" data-key="${esc(r.key)}" data-state="${r.state}" data-kind="${r.kind}"${pad}>${rowInner(r)}</div>`;
}
function rowSig(r) {
  return `${r.state}|${r.preview}|${r.error}|${r.duration}|${r.cached}|${r.replayed}|${r.text}|${r.depth}`;
}
var RowList = class {
  constructor() {
    this.rows = [];
    this.index = /* @__PURE__ */ new Map();
    this.drawn = /* @__PURE__ */ new Map();
    this.first = 0;
    this.last = -1;
    // the window drawn: rows first..last
    this.rowPx = ROW_PX;
    this.frame = 0;
    this.drawnWindowed = !1;
    this.win = h("div", { class: "nbflow-log-window" }), this.spacer = h("div", { class: "nbflow-log-spacer" }, this.win), this.el = h("div", { class: "nbflow-log", role: "list" }, this.spacer), this.el.addEventListener("scroll", () => {
      !this.windowed() || this.frame || (this.frame = requestAnimationFrame(() => {
        this.frame = 0, this.draw(!1);
      }));
    }, { passive: !0 });
  }
  get size() {
    return this.rows.length;
  }
  windowed() {
    return this.rows.length > WINDOW_FROM;
  }
  /** Every row, in call order (what a new view of the same thread starts from). */
  all() {
    return this.rows.slice();
  }
  /** Replace every row (a snapshot; `rows` in call order). */
  reset(rows) {
    this.rows = rows.slice(), this.index = new Map(rows.map((r, i) => [r.key, i])), this.draw(!0);
  }
  /** Update rows in place by key, add new ones in call order; redraws only what is in the window. */
  upsert(changed) {
    let moved = !1, touched = !1;
    for (let r of changed) {
      let at = this.index.get(r.key);
      if (at !== void 0) {
        this.rows[at] = r, at >= this.first && at <= this.last && (touched = !0);
        continue;
      }
      let n = this.rows.length;
      if (n === 0 || !before(r.key, this.rows[n - 1].key)) {
        this.index.set(r.key, n), this.rows.push(r), n <= this.last + 1 && (touched = !0), moved = moved || n <= this.last;
        continue;
      }
      let lo = 0, hi = n - 1;
      for (; lo < hi; ) {
        let mid = lo + hi >> 1;
        before(r.key, this.rows[mid].key) ? hi = mid : lo = mid + 1;
      }
      this.rows.splice(lo, 0, r);
      for (let i = lo; i < this.rows.length; i++) this.index.set(this.rows[i].key, i);
      moved = !0;
    }
    touched || moved || this.windowed() !== this.drawnWindowed ? this.draw(moved) : this.sizeSpacer();
  }
  sizeSpacer() {
    this.spacer.style.height = this.windowed() ? `${this.rows.length * this.rowPx}px` : "";
  }
  /** Draw the window (everything when the list is small). `all` redraws every drawn row from scratch. */
  draw(all) {
    let windowed = this.windowed();
    windowed !== this.drawnWindowed && (this.drawnWindowed = windowed, this.el.dataset.windowed = String(windowed), all = !0);
    let first = 0, last = this.rows.length - 1;
    if (windowed) {
      let view = this.el.clientHeight ? Math.ceil(this.el.clientHeight / this.rowPx) : DEFAULT_VISIBLE, top = Math.floor(this.el.scrollTop / this.rowPx);
      first = Math.max(0, Math.min(top, this.rows.length - view) - OVERSCAN), last = Math.min(this.rows.length - 1, top + view + OVERSCAN);
    }
    if (this.sizeSpacer(), this.win.style.transform = windowed ? `translateY(${first * this.rowPx}px)` : "", all) {
      this.win.innerHTML = this.rows.slice(first, last + 1).map((r, i) => rowHtml(r, first + i)).join(""), this.drawn = /* @__PURE__ */ new Map();
      let els = this.win.children;
      for (let i = first; i <= last; i++) this.drawn.set(this.rows[i].key, { sig: rowSig(this.rows[i]), el: els[i - first] });
    } else {
      let next = /* @__PURE__ */ new Map(), els = [], fresh = [];
      for (let i = first; i <= last; i++) {
        let r = this.rows[i], have = this.drawn.get(r.key), sig = rowSig(r);
        have && have.sig === sig ? (have.el.setAttribute("aria-posinset", String(i + 1)), next.set(r.key, have), els.push(have.el)) : (fresh.push(i), els.push(null));
      }
      if (fresh.length) {
        let tmp = document.createElement("div");
        tmp.innerHTML = fresh.map((i) => rowHtml(this.rows[i], i)).join(""), fresh.forEach((i) => {
          let el = tmp.children[0];
          els[i - first] = el, next.set(this.rows[i].key, { sig: rowSig(this.rows[i]), el }), tmp.removeChild(el);
        });
      }
      this.drawn = next, this.win.replaceChildren(...els);
    }
    this.first = first, this.last = last, this.el.dataset.rows = String(this.rows.length), this.el.dataset.drawn = String(last - first + 1);
  }
};

// src/graph.ts
var MARKS = [
  [/\s*✗ error$/, "error"],
  [/\s*⏸ waiting$/, "waiting"],
  [/\s*⟲ cached$/, "cached"],
  [/\s*⏵ resumed$/, "resumed"]
], NODE = /^\s*([A-Za-z_][\w]*)\s*(\(\[|\{\{|\[)"(.*)"(\]\)|\}\}|\])\s*$/, EDGE = /^\s*([A-Za-z_][\w]*)\s*(-->|-\.->|-\.-)\s*([A-Za-z_][\w]*)\s*$/;
function parseMermaid(text) {
  let nodes = [], edges = [];
  for (let line of text.split(`
`)) {
    let n = NODE.exec(line);
    if (n) {
      let label = n[3], state = n[1] === "start" ? "start" : n[1] === "finish" ? "finish" : "ok";
      for (let [re, word] of MARKS)
        re.test(label) && (label = label.replace(re, ""), state = word);
      n[2] === "{{" && (state = / · waiting$/.test(label) ? "waiting" : "answered"), nodes.push({ id: n[1], shape: n[2] === "([" ? "stadium" : n[2] === "{{" ? "hexagon" : "rect", label, state });
      continue;
    }
    let e = EDGE.exec(line);
    e && edges.push({ from: e[1], to: e[3], dotted: e[2] !== "-->" });
  }
  return { nodes, edges };
}
function layers(g) {
  let incoming = new Map(g.nodes.map((n) => [n.id, []]));
  for (let e of g.edges) incoming.get(e.to)?.push(e.from);
  let layer = /* @__PURE__ */ new Map(), visiting = /* @__PURE__ */ new Set(), depth = (id) => {
    let known = layer.get(id);
    if (known !== void 0) return known;
    if (visiting.has(id)) return 0;
    visiting.add(id);
    let d = Math.max(-1, ...(incoming.get(id) ?? []).map(depth)) + 1;
    return visiting.delete(id), layer.set(id, d), d;
  };
  return g.nodes.forEach((n) => depth(n.id)), layer;
}
var SVG = "http://www.w3.org/2000/svg", CHAR_PX = 7, NODE_H = 28, GAP_Y = 12, GAP_X = 48, MAX_CHARS = 32;
function svg(tag, attrs) {
  let el = document.createElementNS(SVG, tag);
  for (let [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  return el;
}
function shorten(text) {
  return text.length > MAX_CHARS ? text.slice(0, MAX_CHARS - 1) + "\u2026" : text;
}
function drawGraph(g) {
  var _a;
  let layer = layers(g), columns = [];
  for (let n of g.nodes) (columns[_a = layer.get(n.id) ?? 0] ?? (columns[_a] = [])).push(n);
  let width = (n) => Math.max(48, shorten(n.label).length * CHAR_PX + (n.shape === "rect" ? 20 : 32)), colW = columns.map((col) => Math.max(...col.map(width))), height = Math.max(...columns.map((col) => col.length), 1) * (NODE_H + GAP_Y) + GAP_Y, pos = /* @__PURE__ */ new Map(), x = 8;
  columns.forEach((col, c) => {
    let top = (height - col.length * (NODE_H + GAP_Y) + GAP_Y) / 2;
    col.forEach((n, i) => pos.set(n.id, { x: x + (colW[c] - width(n)) / 2, y: top + i * (NODE_H + GAP_Y), w: width(n) })), x += colW[c] + GAP_X;
  });
  let root = svg("svg", {
    class: "nbflow-graph-svg",
    width: Math.max(x - GAP_X + 8, 40),
    height,
    role: "img",
    "aria-label": `graph of ${g.nodes.length} nodes`
  }), defs = svg("defs", {}), marker = svg("marker", { id: "nbflow-arrow", viewBox: "0 0 8 8", refX: 7, refY: 4, markerWidth: 7, markerHeight: 7, orient: "auto" });
  marker.append(svg("path", { d: "M0 0L8 4L0 8z", class: "nbflow-graph-arrowhead" })), defs.append(marker), root.append(defs);
  for (let e of g.edges) {
    let a = pos.get(e.from), b = pos.get(e.to);
    if (!a || !b) continue;
    let x1 = a.x + a.w, y1 = a.y + NODE_H / 2, x2 = b.x, y2 = b.y + NODE_H / 2, mid = (x1 + x2) / 2, path = svg("path", {
      d: `M${x1} ${y1}C${mid} ${y1} ${mid} ${y2} ${x2 - 1} ${y2}`,
      class: "nbflow-graph-edge",
      "data-from": e.from,
      "data-to": e.to
    });
    e.dotted ? path.setAttribute("stroke-dasharray", "4 3") : path.setAttribute("marker-end", "url(#nbflow-arrow)"), root.append(path);
  }
  for (let n of g.nodes) {
    let p = pos.get(n.id), group = svg("g", { class: "nbflow-graph-node", "data-id": n.id, "data-state": n.state, "data-shape": n.shape }), title = svg("title", {});
    title.textContent = n.label + (n.state !== "ok" && n.state !== "start" && n.state !== "finish" ? ` (${n.state})` : ""), group.append(title), n.shape === "hexagon" ? group.append(svg("path", { d: `M${p.x + 10} ${p.y}H${p.x + p.w - 10}L${p.x + p.w} ${p.y + NODE_H / 2}L${p.x + p.w - 10} ${p.y + NODE_H}H${p.x + 10}L${p.x} ${p.y + NODE_H / 2}z`, class: "nbflow-graph-shape" })) : group.append(svg("rect", {
      x: p.x,
      y: p.y,
      width: p.w,
      height: NODE_H,
      rx: n.shape === "stadium" ? NODE_H / 2 : 4,
      class: "nbflow-graph-shape"
    }));
    let text = svg("text", { x: p.x + p.w / 2, y: p.y + NODE_H / 2 + 4, "text-anchor": "middle", class: "nbflow-graph-label" });
    text.textContent = shorten(n.label), group.append(text), root.append(group);
  }
  return root;
}
function graphPanel(mermaid, note, limit) {
  let box = h("div", { class: "nbflow-graph", "data-testid": "nbflow-graph" });
  if (note && box.append(h("div", { class: "nbflow-muted nbflow-graph-note", text: note })), !mermaid) return box;
  let g = parseMermaid(mermaid);
  return g.nodes.filter((n) => n.shape === "rect").length <= limit && box.append(h("div", { class: "nbflow-graph-scroll" }, drawGraph(g))), box.append(h(
    "details",
    { class: "nbflow-graph-source" },
    h("summary", { text: "Mermaid text" }),
    h("pre", { "data-testid": "nbflow-mermaid", text: mermaid })
  )), box;
}

// src/icons.ts
var PATHS = {
  ok: "M3 8.5l3 3 7-7",
  error: "M4 4l8 8M12 4l-8 8",
  waiting: "M6 4v8M10 4v8",
  running: "M8 2a6 6 0 1 1-6 6",
  cached: "M3 8.5l3 3 7-7",
  question: "M6 6a2 2 0 1 1 3 1.7c-.7.4-1 .8-1 1.6M8 12v.01",
  message: "M2.5 3.5h11v7h-6l-3 2.5v-2.5h-2z",
  answer: "M3 3v5h9M9 5l3 3-3 3",
  superseded: "M3 8h10",
  chevron: "M6 4l4 4-4 4",
  link: "M9 3h4v4M13 3l-6 6M11 9v4H3V5h4",
  plug: "M6 2v3M10 2v3M4 5h8v3a4 4 0 0 1-8 0zM8 12v2",
  stopped: "M4.5 4.5h7v7h-7z",
  play: "M5 3.5l7 4.5-7 4.5z"
};
function icon(name, title = "") {
  let ns = "http://www.w3.org/2000/svg", svg2 = document.createElementNS(ns, "svg");
  if (svg2.setAttribute("viewBox", "0 0 16 16"), svg2.setAttribute("width", "14"), svg2.setAttribute("height", "14"), svg2.setAttribute("class", `nbflow-icon nbflow-icon-${name}`), svg2.setAttribute("aria-hidden", title ? "false" : "true"), title) {
    let t = document.createElementNS(ns, "title");
    t.textContent = title, svg2.append(t);
  }
  let path = document.createElementNS(ns, "path");
  return path.setAttribute("d", PATHS[name] ?? PATHS.question), path.setAttribute("fill", "none"), path.setAttribute("stroke", "currentColor"), path.setAttribute("stroke-width", "1.8"), path.setAttribute("stroke-linecap", "round"), path.setAttribute("stroke-linejoin", "round"), svg2.append(path), svg2;
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
  ctrl.wrap.querySelectorAll(".nbflow-error").forEach((e) => e.remove()), append(ctrl.wrap, h("div", { class: "nbflow-error", role: "alert", text: message })), ctrl.input.setAttribute("aria-invalid", "true");
}
function controlKey(el) {
  return el.getAttribute("data-field") ?? el.getAttribute("data-testid");
}
function readFields(controls, asObject) {
  let out = {}, bad = !1;
  for (let c of controls) {
    let r = c.read();
    r.ok ? "value" in r && (out[c.spec.name] = r.value) : (setFieldError(c, r.error), bad = !0);
  }
  return bad ? null : { value: asObject ? out : out[controls[0]?.spec.name ?? "value"] };
}
function renderForm(spec, send, extra = {}, drafts = {}) {
  let form = h("form", { class: "nbflow-interrupt", "data-interrupt-id": spec.id, "data-kind": spec.kind, novalidate: !0 }), who = spec.task ? ` from ${spec.task}` : "";
  append(form, h(
    "div",
    { class: "nbflow-form-head" },
    h("span", { class: "nbflow-q" }, icon("question")),
    h("span", { text: spec.kind === "inbox" ? spec.action || "Review" : spec.title || `Question${who}` })
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
    let answer = h("textarea", { rows: 2, "data-testid": "nbflow-answer", placeholder: "Your answer", "aria-label": "Your answer" }), json = h("input", { type: "checkbox", "data-testid": "nbflow-json" }), toggle = h(
      "label",
      { class: "nbflow-json-toggle", title: "Read the answer as a Python value written in JSON: numbers, true/false, lists [..], objects {..}" },
      json,
      " Answer is a value (number, list, object), not text"
    );
    append(body, answer, toggle), collect = () => {
      if (!json.checked) return { value: answer.value };
      try {
        return { value: JSON.parse(answer.value) };
      } catch (e) {
        return formError(`this is not a value nbflow can read: ${e.message}. Untick "Answer is a value" to send it as text.`), null;
      }
    };
  }
  let multi = form.querySelector("textarea") !== null, hint = h("span", { class: "nbflow-hint", text: multi ? "Ctrl+Enter sends \xB7 Esc leaves the form" : "Enter sends \xB7 Esc leaves the form" }), foot = h("div", { class: "nbflow-form-foot" }, submit, hint, state);
  append(form, foot);
  let read = () => (clearErrors(), collect()), sending = () => {
    form.dataset.sending = "true", submit.disabled = !0, state.textContent = "sending\u2026", window.setTimeout(() => {
      form.dataset.sending === "true" && (state.textContent = "sent; the kernel will take it when the running cell finishes");
    }, 5e3);
  };
  form.addEventListener("submit", (e) => {
    if (e.preventDefault(), form.dataset.sending === "true" || form.dataset.answered === "true") return;
    let answer = read();
    answer && send(msg("resume", { id: spec.id, ...answer, ...extra })) && sending();
  }), form.addEventListener("keydown", (e) => {
    if (e.key === "Escape") {
      document.activeElement?.blur();
      return;
    }
    e.key === "Enter" && (e.ctrlKey || e.metaKey) && (e.preventDefault(), form.requestSubmit(submit)), e.stopPropagation();
  });
  let save = (e) => {
    let t = e.target, key = controlKey(t);
    key && (drafts[key] = t.type === "checkbox" ? t.checked : t.value), t.closest(".nbflow-field")?.querySelectorAll(".nbflow-error").forEach((x) => x.remove()), t.removeAttribute("aria-invalid"), form.querySelectorAll(".nbflow-form-error").forEach((x) => x.remove());
  };
  form.addEventListener("input", save), form.addEventListener("change", save), form.querySelectorAll("input, textarea, select").forEach((el) => {
    let key = controlKey(el);
    if (key === null || !(key in drafts)) return;
    let v = drafts[key];
    typeof v == "boolean" ? el.checked = v : el.value = v;
  });
  let controlsOff = () => form.querySelectorAll("button, input, textarea, select").forEach((x) => x.disabled = !0);
  return {
    el: form,
    id: spec.id,
    read,
    sending,
    answered(q) {
      if (form.dataset.answered === "true") return;
      form.dataset.answered = "true", delete form.dataset.sending, form.classList.add("nbflow-answered"), controlsOff(), hint.remove(), state.textContent = "", clearErrors();
      let line = q.state === "superseded" ? h("div", { class: "nbflow-answer-line", "data-testid": "nbflow-superseded" }, icon("superseded"), " No longer asked: the thread moved on (a new invocation started).") : h(
        "div",
        { class: "nbflow-answer-line", "data-testid": "nbflow-answered" },
        icon("answer"),
        " Answered ",
        h("code", { text: q.answer }),
        h("span", { class: "nbflow-muted", text: ` from ${q.origin}` })
      );
      form.insertBefore(line, body), body.hidden = !0, foot.hidden = !0;
    },
    disable(reason) {
      controlsOff(), delete form.dataset.sending, state.textContent = "", form.querySelectorAll(".nbflow-disabled-why").forEach((x) => x.remove()), foot.append(h("span", { class: "nbflow-disabled-why", text: reason }));
    },
    showErrors(message, errors) {
      clearErrors(), delete form.dataset.sending, submit.disabled = !1, state.textContent = "";
      let unplaced = errors.length === 0;
      for (let err of errors) {
        let ctrl = controls.find((c) => c.spec.name === err.field) ?? (spec.object === !1 && controls.length === 1 ? controls[0] : void 0);
        ctrl ? setFieldError(ctrl, err.message) : unplaced = !0;
      }
      unplaced && message && formError(message);
    }
  };
}

// src/questions.ts
function questionList(send, extra, drafts) {
  let el = h("div", { class: "nbflow-forms" }), list = h("div", { class: "nbflow-form-list" }), sendAll = h("button", { type: "button", class: "nbflow-button nbflow-send-all", "data-testid": "nbflow-send-all", text: "Send all answers", hidden: !0 }), allState = h("span", { class: "nbflow-form-state" }), bar = h("div", { class: "nbflow-send-all-bar", hidden: !0 }, sendAll, allState);
  el.append(list, bar);
  let handles = /* @__PURE__ */ new Map(), disabled = "", open = () => [...handles.values()].filter((f) => f.el.dataset.answered !== "true");
  return sendAll.addEventListener("click", () => {
    let forms = open().filter((f) => f.el.dataset.sending !== "true"), answers = [], bad = !1;
    for (let f of forms) {
      let a = f.read();
      a ? answers.push({ id: f.id, ...a }) : bad = !0;
    }
    bad || !answers.length || send(msg("resume_all", { answers, ...extra })) && (forms.forEach((f) => f.sending()), allState.textContent = "sending\u2026");
  }), {
    el,
    update(questions) {
      var _a;
      let seen = /* @__PURE__ */ new Set();
      for (let q of questions) {
        seen.add(q.id);
        let f = handles.get(q.id);
        f || (drafts[_a = q.id] ?? (drafts[_a] = {}), f = renderForm(q.form, send, extra, drafts[q.id]), handles.set(q.id, f), list.append(f.el), disabled && f.disable(disabled)), q.state !== "pending" && (f.answered(q), delete drafts[q.id]);
      }
      for (let [id, f] of handles)
        seen.has(id) || (f.el.remove(), handles.delete(id));
      let pending = open().length;
      bar.hidden = pending < 2 || !!disabled, sendAll.hidden = bar.hidden, pending < 2 && (allState.textContent = "");
    },
    showErrors(id, message, errors) {
      allState.textContent = "";
      let f = handles.get(id);
      f ? f.showErrors(message, errors) : open().forEach((x) => x.showErrors(message, [])), open().forEach((x) => {
        x !== f && x.el.dataset.sending === "true" && x.showErrors("", []);
      });
    },
    disable(reason) {
      disabled = reason, handles.forEach((f) => f.disable(reason)), bar.hidden = !0;
    }
  };
}

// src/conn.ts
var DEAD = /* @__PURE__ */ new Set(["restarting", "autorestarting", "dead", "terminating"]);
function watchConnection(model, onGone) {
  let isGone = !1, fail = (why) => {
    isGone || (isGone = !0, onGone(why));
  }, onClose = () => fail("the kernel closed this view's connection"), onLive = () => fail("the kernel connection was lost");
  model.on("comm:close", onClose), model.on("comm_live_update", onLive);
  let kernel = model.widget_manager?.kernel, onStatus = (_k, status) => {
    DEAD.has(status) && fail(status === "dead" ? "the kernel died" : "the kernel was restarted");
  };
  try {
    kernel?.statusChanged?.connect(onStatus), kernel && DEAD.has(kernel.status) && fail("the kernel is not running");
  } catch {
  }
  return {
    send(content) {
      if (isGone) return !1;
      try {
        return model.send(content), !0;
      } catch (e) {
        return fail(`the kernel cannot be reached (${e.message})`), !1;
      }
    },
    gone: () => isGone,
    dispose() {
      model.off("comm:close", onClose), model.off("comm_live_update", onLive);
      try {
        kernel?.statusChanged?.disconnect(onStatus);
      } catch {
      }
    }
  };
}

// src/status.ts
var STATUS_WORDS = {
  idle: "idle",
  running: "running",
  interrupted: "waiting for input",
  done: "done",
  error: "failed",
  stopped: "stopped"
}, STATUS_ICON = {
  running: "running",
  interrupted: "waiting",
  done: "ok",
  error: "error",
  stopped: "stopped"
};

// src/run.ts
var GRAPH_LIMIT = 400, uiState = /* @__PURE__ */ new Map();
function renderRun(model, el) {
  let uid = String(model.get("_uid") ?? "");
  uiState.has(uid) || uiState.set(uid, { drafts: {}, focus: null, graph: !1 });
  let ui = uiState.get(uid), root = h("div", { class: "nbflow-run", "data-status": model.get("status"), "data-lm-suppress-shortcuts": "true" }), name = h("span", { class: "nbflow-name" }), thread = h("span", { class: "nbflow-thread" }), statusIcon = h("span", { class: "nbflow-status-icon" }), statusText = h("span", { class: "nbflow-status-text" }), status = h("span", { class: "nbflow-status" }, statusIcon, statusText), times = h("span", { class: "nbflow-elapsed", title: "active: time the workflow ran \xB7 waiting: time spent waiting for answers" }), bar = h("span", { class: "nbflow-progress-bar" }), count = h("span", { class: "nbflow-progress-text" }), progress = h("span", { class: "nbflow-progress", title: "task calls finished / task calls" }, h("span", { class: "nbflow-progress-track" }, bar), count), stopBtn = h("button", {
    type: "button",
    class: "nbflow-button nbflow-stop",
    "data-testid": "nbflow-stop",
    hidden: !0,
    title: "Stop this invocation (Workflow.stop): finished tasks stay checkpointed"
  }, icon("stopped"), " Stop"), header = h("div", { class: "nbflow-header" }, name, thread, status, times, progress, stopBtn), continueBtn = h("button", { type: "button", class: "nbflow-button", "data-testid": "nbflow-continue" }, icon("play"), " Continue"), stoppedBox = h(
    "div",
    { class: "nbflow-stopped-box", "data-testid": "nbflow-stopped", hidden: !0 },
    h("span", { text: "Stopped. Finished tasks are checkpointed; abandoned tasks run again when you continue (same as " }),
    h("code", { text: "wf.invoke(None, config)" }),
    h("span", { text: "). " }),
    continueBtn
  ), actionError = h("div", { class: "nbflow-error-text nbflow-action-error", role: "alert", hidden: !0 }), banner = h("div", { class: "nbflow-banner", role: "alert", hidden: !0 }), rowList = new RowList(), rowsBox = rowList.el, event = h("div", { class: "nbflow-muted nbflow-last-event", hidden: !0 }), errorBox = h("div", { class: "nbflow-run-error", hidden: !0 }), resultBox = h("div", { class: "nbflow-result-box", hidden: !0 }), tasksTab = h("button", { type: "button", role: "tab", class: "nbflow-tab", "aria-selected": "true", "data-testid": "nbflow-tab-tasks", text: "Tasks" }), graphTab = h("button", { type: "button", role: "tab", class: "nbflow-tab", "aria-selected": "false", "data-testid": "nbflow-tab-graph", text: "Graph" }), tabs = h("div", { class: "nbflow-tabs", role: "tablist" }, tasksTab, graphTab), graphBox = h("div", { class: "nbflow-graph-box", role: "tabpanel", hidden: !0 });
  append(root, header, banner, tabs, rowsBox, graphBox, event, stoppedBox, actionError, errorBox), el.append(root);
  let conn = watchConnection(model, (why) => {
    let tid = state?.thread_id;
    banner.hidden = !1, clear(banner), append(
      banner,
      icon("plug"),
      h("b", { text: " Not connected: " }),
      `${why}. This view can no longer answer or update. `,
      "To continue, re-run the cell, or reattach with ",
      h("code", { text: tid ? `nbflow.show(${state?.workflow ?? "wf"}, config={"configurable": {"thread_id": "${tid}"}})` : "nbflow.show(wf, config=...)" }),
      "."
    ), root.dataset.kernel = "gone", questions.disable("Not connected to the kernel"), stopBtn.disabled = !0, continueBtn.disabled = !0;
  }), graphOpen = !1, graphAsked = 0, graphTimer = 0, graphSeen = "", askGraph = () => {
    if (!graphOpen || graphTimer) return;
    let wait = Math.max(0, graphAsked + 500 - performance.now());
    graphTimer = window.setTimeout(() => {
      graphTimer = 0, graphAsked = performance.now(), graphOpen && conn.send(msg("graph_request"));
    }, wait);
  }, showTab = (graph) => {
    graphOpen = ui.graph = graph, tasksTab.setAttribute("aria-selected", String(!graph)), graphTab.setAttribute("aria-selected", String(graph)), rowsBox.hidden = graph, graphBox.hidden = !graph, graph && askGraph();
  };
  tasksTab.addEventListener("click", () => showTab(!1)), graphTab.addEventListener("click", () => showTab(!0)), ui.graph && showTab(!0);
  let act = (kind, btn) => {
    actionError.hidden = !0, conn.send(msg(kind)) && (btn.disabled = !0);
  };
  stopBtn.addEventListener("click", () => act("stop", stopBtn)), continueBtn.addEventListener("click", () => act("continue", continueBtn));
  let questions = questionList((m) => conn.send(m), {}, ui.drafts);
  root.insertBefore(questions.el, errorBox), root.append(resultBox);
  let state = null, seq = -1, awaiting = !0, primed = null, sinceAt = 0, tick = () => {
    if (!state) return;
    let extra = state.since !== null && state.since !== void 0 ? Math.max(0, Date.now() / 1e3 - state.since) : 0, active = state.active_s + (state.status === "running" ? extra : 0), waiting = state.waiting_s + (state.status === "interrupted" ? extra : 0), parts = [];
    (active > 0 || state.status === "running") && parts.push(`active ${duration(active)}`), (waiting > 0 || state.status === "interrupted") && parts.push(`waiting ${duration(waiting)}`), times.textContent = parts.join(" \xB7 ");
  }, applyState = (s) => {
    state = s, sinceAt = performance.now(), root.dataset.status = s.status, s.thread_id && (root.dataset.threadId = s.thread_id), name.textContent = s.name, thread.textContent = s.thread_id ? `thread ${s.thread_id}` : "", status.dataset.status = s.status, clear(statusIcon), statusIcon.append(icon(STATUS_ICON[s.status] ?? "superseded")), statusText.textContent = STATUS_WORDS[s.status] ?? s.status, count.textContent = s.total ? `${s.done}/${s.total} tasks` : "", progress.hidden = !s.total, bar.style.width = s.status === "done" ? "100%" : s.total ? `${Math.round(100 * s.done / s.total)}%` : "0%", event.hidden = !s.last_event && !s.events || s.status === "stopped", event.textContent = s.events ? `${s.events} events \xB7 latest: ${s.last_event}` : s.last_event, errorBox.hidden = s.status !== "error", clear(errorBox), s.status === "error" && (append(errorBox, h("div", { class: "nbflow-error-text", "data-testid": "nbflow-error", text: s.error })), s.error_where && append(errorBox, h("div", { class: "nbflow-error-where", text: `at ${s.error_where}` })), s.traceback && append(errorBox, h("details", { class: "nbflow-traceback" }, h("summary", { text: "Traceback" }), h("pre", { text: s.traceback })))), clear(resultBox), resultBox.hidden = !s.has_result, s.has_result && append(resultBox, h("div", { class: "nbflow-result-label", text: "Result" }), h("pre", { class: "nbflow-result", "data-testid": "nbflow-result", text: s.result })), questions.update(s.questions), tabs.hidden = !s.thread_id, askGraph();
    let gone = conn.gone();
    stopBtn.hidden = !(s.status === "running" && s.thread_id), stopBtn.disabled = gone || s.last_event === "stopping\u2026", stoppedBox.hidden = s.status !== "stopped", continueBtn.disabled = gone, tick();
  }, onSnapshot = (m) => {
    if (primed !== null) {
      let same = JSON.stringify([m.state, m.rows]) === primed;
      if (primed = null, same) {
        seq = m.seq, awaiting = !1, conn.gone() || (banner.hidden = !0);
        return;
      }
    }
    let t0 = performance.now();
    rowList.reset(m.rows), applyState(m.state), seq = m.seq, awaiting = !1, conn.gone() || (banner.hidden = !0), root.dataset.updateMs = (performance.now() - t0).toFixed(2), root.dataset.snapshotMs = root.dataset.updateMs, root.isConnected && (rowsBox.scrollHeight, root.dataset.snapshotLayoutMs = (performance.now() - t0).toFixed(2)), root.dataset.snapshotRows = String(m.rows.length), root.dataset.updateMaxMs = Math.max(Number(root.dataset.updateMs), Number(root.dataset.updateMaxMs ?? 0)).toFixed(2), root.dataset.updateRows = String(Math.max(m.rows.length, Number(root.dataset.updateRows ?? 0)));
  }, onBatch = (m) => {
    if (awaiting || m.seq <= seq) return;
    let t0 = performance.now();
    rowList.upsert(m.rows), m.state && applyState(m.state), seq = m.seq;
    let ms = performance.now() - t0;
    root.dataset.updateMs = ms.toFixed(2), root.dataset.updateMaxMs = Math.max(ms, Number(root.dataset.updateMaxMs ?? 0)).toFixed(2), root.dataset.updateRows = String(Math.max(m.rows.length, Number(root.dataset.updateRows ?? 0)));
  }, onCustom = (content) => {
    if (!(!content || typeof content != "object")) {
      if (content.kind === "snapshot") onSnapshot(content);
      else if (content.kind === "batch") onBatch(content);
      else if (content.kind === "graph")
        content.mermaid + content.note !== graphSeen && (graphSeen = content.mermaid + content.note, clear(graphBox), graphBox.append(graphPanel(content.mermaid, content.note, GRAPH_LIMIT))), graphBox.dataset.loaded = "true";
      else if (content.kind === "action_error")
        actionError.hidden = !1, actionError.textContent = content.message, stopBtn.disabled = continueBtn.disabled = conn.gone();
      else if (content.kind === "resume_error") {
        let e = content;
        questions.showErrors(e.id, e.message, e.errors ?? []);
      }
    }
  }, onFocus = (e) => {
    let t = e.target, form = t.closest("form"), key = t.getAttribute("data-field") ?? t.getAttribute("data-testid");
    ui.focus = form && key ? `${form.getAttribute("data-interrupt-id")}::${key}` : null;
  };
  root.addEventListener("focusin", onFocus), model.on("msg:custom", onCustom);
  let timer = window.setInterval(() => {
    state && (state.status === "running" || state.status === "interrupted") && tick();
  }, 500), prior = ui.shown?.() ?? null;
  prior && (onSnapshot({ kind: "snapshot", v: 1, seq: prior.seq, state: prior.state, rows: prior.rows }), awaiting = !0, primed = JSON.stringify([prior.state, prior.rows])), ui.shown = () => state ? { state, rows: rowList.all(), seq } : null;
  let first = conn.send(msg("snapshot_request")), noReply = window.setTimeout(() => {
    awaiting && first && !conn.gone() && (banner.hidden = !1, banner.textContent = "Waiting for the kernel\u2026 (if it was restarted, re-run the cell to reattach)");
  }, 8e3);
  if (ui.focus) {
    let [iid, key] = ui.focus.split("::"), restore = () => {
      let target = root.querySelector(`form[data-interrupt-id="${iid}"] [data-field="${key}"], form[data-interrupt-id="${iid}"] [data-testid="${key}"]`);
      target && document.activeElement === document.body && target.focus();
    };
    window.setTimeout(restore, 0), window.setTimeout(restore, 300);
  }
  return () => {
    window.clearInterval(timer), window.clearTimeout(noReply), window.clearTimeout(graphTimer), conn.dispose(), model.off("msg:custom", onCustom);
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
    h("div", { class: "nbflow-gantt-track" }, h("span", { text: "0" }), h("span", { class: "nbflow-axis-end", text: `${duration(inv.span)} active` + (inv.waiting > 5e-3 ? ` (+ ${duration(inv.waiting)} waiting for answers, not drawn)` : "") }))
  )), box;
}
function stateBox(inv, ui) {
  let box = h("div", { class: "nbflow-state", "data-testid": "nbflow-state" }), pretty = h("button", { type: "button", class: "nbflow-tab", role: "tab", "data-testid": "nbflow-state-pretty", text: "Pretty" }), json = h("button", { type: "button", class: "nbflow-tab", role: "tab", "data-testid": "nbflow-state-json", text: "JSON" }), body = h("pre", { class: "nbflow-result nbflow-state-body", "data-testid": "nbflow-state-body" }), fill = () => {
    pretty.setAttribute("aria-selected", String(!ui.json)), json.setAttribute("aria-selected", String(ui.json));
    let st = ui.states.get(inv.index);
    body.textContent = st ? ui.json ? st.json : st.pretty : "loading\u2026", box.dataset.format = ui.json ? "json" : "pretty";
  };
  return pretty.addEventListener("click", () => {
    ui.json = !1, fill();
  }), json.addEventListener("click", () => {
    ui.json = !0, fill();
  }), append(box, h(
    "div",
    { class: "nbflow-state-head" },
    h("span", { class: "nbflow-result-label", text: "State at this checkpoint" }),
    h("span", { class: "nbflow-tabs", role: "tablist" }, pretty, json)
  ), body), fill(), ui.states.has(inv.index) || ui.send(msg("state_request", { index: inv.index })), box;
}
function compareWith(inv, ui) {
  if (!ui.threads.length) return null;
  let pick = h("select", { class: "nbflow-filter", "data-testid": "nbflow-compare-thread", "aria-label": "Another thread" });
  for (let t of ui.threads) pick.append(h("option", { value: t, text: `thread ${t}` }));
  let go = h("button", { type: "button", class: "nbflow-button nbflow-small", "data-testid": "nbflow-compare-thread-go", text: "Compare" });
  return go.addEventListener("click", () => ui.send(msg("compare", { left: inv.index, right: -1, right_thread: pick.value }))), h("div", { class: "nbflow-compare-with" }, h("span", { class: "nbflow-muted", text: `Compare #${inv.index} with the latest invocation of ` }), pick, go);
}
function details(inv, ui) {
  let send = ui.send, box = h("div", { class: "nbflow-details" });
  if (inv.status !== "update") {
    let replay = h("button", { type: "button", class: "nbflow-button", "data-testid": "nbflow-replay", text: "Re-run from this input (same thread, new branch)" });
    replay.addEventListener("click", () => send(msg("replay", { index: inv.index }))), box.append(h("div", { class: "nbflow-details-actions" }, replay));
  }
  inv.value && append(box, h("div", { class: "nbflow-result-label", text: inv.status === "update" ? "Saved state" : "Return value" }), h("pre", { class: "nbflow-result", text: inv.value })), inv.error && append(box, h("div", { class: "nbflow-run-error", text: inv.error }));
  for (let a of inv.asked)
    append(box, h(
      "div",
      { class: "nbflow-entry", "data-kind": "interrupt", "data-superseded": String(!!a.superseded) },
      h("span", { class: "nbflow-mark" }, icon("question")),
      h("span", { class: "nbflow-asked", text: a.text ?? a.value, title: a.value }),
      a.answered ? h("span", { text: "  \u21B3 " }) : badge(a.superseded ? "superseded: this branch was left" : "waiting", a.superseded ? "superseded" : ""),
      a.answered ? h("code", { text: a.answer }) : null
    ));
  let table = h("div", { class: "nbflow-task-table" });
  for (let t of inv.tasks) {
    let row = h(
      "div",
      { class: "nbflow-entry", "data-kind": "task", "data-state": t.outcome === "cached" ? "ok" : t.outcome },
      h("span", { class: "nbflow-mark" }, icon(t.outcome === "error" ? "error" : t.outcome === "interrupted" ? "waiting" : "ok")),
      h("span", { class: "nbflow-task-name", text: t.name }),
      t.outcome === "cached" ? badge("cached", "cached") : null,
      h("span", { class: "nbflow-duration", text: duration(t.duration) }),
      t.input ? h("span", { class: "nbflow-muted nbflow-task-io", text: "in" }) : null,
      t.input ? h("code", { class: "nbflow-preview", "data-testid": "nbflow-task-input", text: t.input }) : null,
      t.result ? h("span", { class: "nbflow-arrow", text: "\u2192" }) : null,
      t.result ? h("code", { class: "nbflow-preview", "data-testid": "nbflow-task-output", text: t.result }) : null,
      t.error ? h("span", { class: "nbflow-error-text", text: t.error }) : null
    );
    if (t.fork !== null) {
      let fork = h("button", { type: "button", class: "nbflow-button nbflow-small", "data-testid": "nbflow-fork-open", text: "Fork from this task (new thread)" });
      fork.addEventListener("click", () => {
        fork.hidden = !0;
        let value = h("textarea", { rows: 2, "data-testid": "nbflow-fork-value", placeholder: "New result for this task (a number, text, list\u2026); leave empty to run the task again", "aria-label": "New result" }), go = h("button", { type: "button", class: "nbflow-button", "data-testid": "nbflow-fork", text: "Fork" }), cancel = h("button", { type: "button", class: "nbflow-button nbflow-quiet", text: "Cancel" }), editor = h("div", { class: "nbflow-fork-editor" }, value, go, cancel);
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
  box.append(table), inv.status !== "running" && box.append(stateBox(inv, ui));
  let other = compareWith(inv, ui);
  return other && box.append(other), box;
}
function renderTimeline(model, el) {
  let root = h("div", { class: "nbflow-timeline", "data-lm-suppress-shortcuts": "true" }), title = h("span", { class: "nbflow-name" }), refresh = h("button", { type: "button", class: "nbflow-button nbflow-quiet", text: "Refresh" });
  refresh.addEventListener("click", () => model.send(msg("refresh")));
  let errorBox = h("div", { class: "nbflow-error", hidden: !0 }), list = h("div", { class: "nbflow-invocations" });
  append(root, h("div", { class: "nbflow-header" }, title, refresh), errorBox, list), el.append(root);
  let selected = -1, picked = [], ui = { json: !1, states: /* @__PURE__ */ new Map(), send: (m) => model.send(m), threads: [] }, compareBox = h("div", { class: "nbflow-compare", "data-testid": "nbflow-compare", hidden: !0 });
  root.append(compareBox);
  let showComparison = (m) => {
    clear(compareBox), compareBox.hidden = !1;
    let table = h("table", { class: "nbflow-compare-table" }), left = m.left_label ?? `#${m.left}`, right = m.right_label ?? `#${m.right}`;
    table.append(h("tr", {}, h("th", { text: "" }), h("th", { text: left }), h("th", { text: right })));
    for (let r of m.rows)
      table.append(h("tr", { "data-same": String(r.same) }, h("th", { text: r.what }), h("td", {}, h("code", { text: r.left })), h("td", {}, h("code", { text: r.right }))));
    let differ = m.rows.filter((r) => !r.same).length;
    append(compareBox, h("div", { class: "nbflow-result-label", text: `Compare ${left} and ${right} \xB7 ${differ} difference${differ === 1 ? "" : "s"} (highlighted)` }), table);
  }, draw = () => {
    let data = model.get("data") ?? { name: "", thread_id: "", invocations: [] }, n = data.invocations.length;
    ui.threads = data.threads ?? [], title.textContent = `${data.name} \xB7 thread ${data.thread_id} \xB7 ${n} invocation${n === 1 ? "" : "s"}`, (selected < 0 || selected >= n) && (selected = n - 1), clear(list);
    for (let inv of data.invocations) {
      let card = h("div", { class: "nbflow-inv", "data-index": inv.index, "data-status": inv.status, "aria-selected": String(inv.index === selected) }), head = h(
        "button",
        { type: "button", class: "nbflow-inv-head" },
        h("span", { class: "nbflow-inv-index", text: `#${inv.index}` }),
        h("span", { class: "nbflow-status", "data-status": inv.status, text: inv.status }),
        inv.status === "update" ? h("span", { text: "state edited" }) : h("code", { class: "nbflow-preview", text: inv.input }),
        inv.forked_from ? badge("fork", "fork") : null,
        inv.branch_of !== null && inv.branch_of !== void 0 ? badge(`branch from #${inv.branch_of}`, "branch") : null,
        inv.head ? badge("head", "head") : null,
        h("span", { class: "nbflow-duration", text: inv.ended_at ? duration(inv.ended_at - inv.started_at) : "" }),
        inv.preview ? h("span", { class: "nbflow-arrow", text: "\u2192" }) : null,
        inv.preview ? h("code", { class: "nbflow-preview", text: inv.preview }) : null
      );
      head.addEventListener("click", () => {
        selected = inv.index, draw();
      });
      let pick = h("input", { type: "checkbox", class: "nbflow-compare-pick", "data-testid": "nbflow-compare-pick", title: "Pick two invocations to compare" });
      pick.checked = picked.includes(inv.index), pick.addEventListener("change", () => {
        picked = pick.checked ? [...picked.filter((x) => x !== inv.index), inv.index].slice(-2) : picked.filter((x) => x !== inv.index), picked.length === 2 ? model.send(msg("compare", { left: Math.min(...picked), right: Math.max(...picked) })) : compareBox.hidden = !0, draw();
      }), inv.branch_of !== null && inv.branch_of !== void 0 && (card.style.marginLeft = "1.2em"), append(card, h("div", { class: "nbflow-inv-bar" }, h("label", { class: "nbflow-compare-label", title: "Compare" }, pick), head), inv.tasks.length ? gantt(inv) : null), inv.index === selected && card.append(details(inv, ui)), list.append(card);
    }
  }, onCustom = (content) => {
    if (content?.kind === "comparison") {
      showComparison(content);
      return;
    }
    if (content?.kind === "state") {
      ui.states.set(content.index, content);
      let body = list.querySelector(`.nbflow-inv[data-index="${content.index}"] [data-testid="nbflow-state-body"]`);
      body && (body.textContent = ui.json ? content.json : content.pretty);
      return;
    }
    content?.kind === "action_error" && (errorBox.hidden = !1, errorBox.textContent = content.message);
  }, onData = () => {
    errorBox.hidden = !0, ui.states.clear(), draw();
  };
  return model.on("change:data", onData), model.on("msg:custom", onCustom), draw(), () => {
    model.off("change:data", onData), model.off("msg:custom", onCustom);
  };
}

// src/inbox.ts
var STATE_WORDS = {
  waiting: "waiting for input",
  running: "running\u2026",
  answered: "answered",
  done: "done",
  error: "failed"
};
function renderInbox(model, el) {
  let root = h("div", { class: "nbflow-inbox", "data-lm-suppress-shortcuts": "true" }), title = h("span", { class: "nbflow-name" }), filter = h("select", { class: "nbflow-filter", "aria-label": "Show workflow", "data-testid": "nbflow-inbox-filter" }), refresh = h("button", { type: "button", class: "nbflow-button nbflow-quiet", text: "Refresh" }), banner = h("div", { class: "nbflow-banner", role: "alert", hidden: !0 }), list = h("div", { class: "nbflow-inbox-items" }), empty = h("div", { class: "nbflow-muted", text: "Nothing is waiting for input." });
  append(root, h("div", { class: "nbflow-header" }, title, filter, refresh), banner, list), el.append(root);
  let drafts = {}, cards = /* @__PURE__ */ new Map(), shown = "", conn = watchConnection(model, (why) => {
    banner.hidden = !1, banner.textContent = `Not connected: ${why}. Re-run the cell (nbflow.inbox()) to see the threads again.`, cards.forEach((c) => c.questions.disable("Not connected to the kernel"));
  });
  refresh.addEventListener("click", () => conn.send(msg("refresh"))), filter.addEventListener("change", () => {
    shown = filter.value, draw();
  });
  let card = (item) => {
    var _a;
    let extra = { thread_id: item.thread_id, workflow: item.workflow };
    drafts[_a = item.key] ?? (drafts[_a] = {});
    let questions = questionList((m) => conn.send(m), extra, drafts[item.key]), status = h("span", { class: "nbflow-inbox-state" }), jump = h("button", { type: "button", class: "nbflow-button nbflow-quiet nbflow-jump", "data-testid": "nbflow-jump", title: "Scroll to this thread's run view", text: "Run view" });
    jump.prepend(icon("link")), jump.addEventListener("click", () => {
      let target = document.querySelector(`.nbflow-run:not(.nbflow-static)[data-thread-id="${CSS.escape(item.thread_id)}"]`);
      target ? (target.scrollIntoView({ behavior: "smooth", block: "center" }), target.classList.add("nbflow-flash"), window.setTimeout(() => target.classList.remove("nbflow-flash"), 1500)) : jump.textContent = "no run view of this thread is open";
    });
    let outcome = h("div", { class: "nbflow-inbox-outcome" }), body = h("div", { class: "nbflow-inbox-body" }, questions.el, outcome), toggle = h("button", { type: "button", class: "nbflow-expand", "aria-expanded": "true", title: "Show or hide" }, icon("chevron"));
    return toggle.addEventListener("click", () => {
      body.hidden = !body.hidden, toggle.setAttribute("aria-expanded", String(!body.hidden));
    }), { el: h(
      "div",
      { class: "nbflow-inbox-item", "data-thread-id": item.thread_id, "data-workflow": item.workflow },
      h("div", { class: "nbflow-inbox-title" }, toggle, h("b", { text: item.workflow }), ` \xB7 thread ${item.thread_id} \xB7 `, status, jump),
      body
    ), status, body, outcome, questions, sig: "" };
  }, draw = () => {
    let items = model.get("data") ?? [], names = [...new Set(items.map((i) => i.workflow))].sort(), options = ["", ...names];
    if (filter.options.length !== options.length || options.some((n, i) => filter.options[i].value !== n)) {
      clear(filter);
      for (let n of options) filter.append(h("option", { value: n, text: n || "all workflows" }));
      filter.value = names.includes(shown) ? shown : "";
    }
    filter.hidden = names.length < 2;
    let visible = items.filter((i) => !shown || i.workflow === shown), waiting = visible.filter((i) => i.state === "waiting").length;
    title.textContent = waiting ? `Inbox \xB7 ${waiting} waiting for input` : "Inbox";
    let keep = new Set(visible.map((i) => i.key));
    for (let [key, c] of cards) keep.has(key) || (c.el.remove(), cards.delete(key));
    let prev = null;
    for (let item of visible) {
      let c = cards.get(item.key), fresh = !c;
      c || (c = card(item), cards.set(item.key, c));
      let sig = JSON.stringify(item);
      if (c.sig !== sig) {
        c.sig = sig;
        let wasWaiting = c.el.dataset.state === "waiting";
        c.el.dataset.state = item.state, c.status.textContent = STATE_WORDS[item.state] ?? item.state, c.questions.update(item.questions), clear(c.outcome), item.message && append(c.outcome, h("div", { class: "nbflow-error", text: item.message })), item.result && append(c.outcome, h("div", { class: "nbflow-inbox-result" }, h("span", { class: "nbflow-muted", text: "Result: " }), h("code", { "data-testid": "nbflow-inbox-result", text: item.result }))), item.state === "waiting" ? c.body.hidden = !1 : (wasWaiting || fresh) && (c.body.hidden = item.state !== "running"), c.el.querySelector(".nbflow-expand")?.setAttribute("aria-expanded", String(!c.body.hidden));
      }
      let next = prev ? prev.nextElementSibling : list.firstElementChild;
      next !== c.el && list.insertBefore(c.el, next), prev = c.el;
    }
    visible.length ? empty.remove() : list.append(empty);
  }, onCustom = (content) => {
    if (content?.kind === "resume_error")
      for (let [key, c] of cards) key.endsWith(`/${content.thread_id}`) && c.questions.showErrors(content.id, content.message, content.errors ?? []);
  };
  return model.on("change:data", draw), model.on("msg:custom", onCustom), draw(), () => {
    conn.dispose(), model.off("change:data", draw), model.off("msg:custom", onCustom);
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
