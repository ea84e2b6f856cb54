// The run view's Graph tab: the Mermaid flowchart the kernel makes of what ran (Workflow.get_graph_mermaid),
// drawn here as SVG without Mermaid itself. Mermaid (with its layout engines) is megabytes of JavaScript and
// would be fetched or bundled into every notebook; the flowcharts nbflow writes use a small, fixed subset
// (rectangles, stadiums, hexagons; solid and dotted edges), so this module parses that subset and lays it out
// left to right in layers (longest path from the start: each fan-out wave is one column).
// The Mermaid text stays available below the picture, to copy into docs or mermaid.live.

import { h } from "./dom";

export interface GraphNode { id: string; shape: "rect" | "stadium" | "hexagon"; label: string; state: string }
export interface GraphEdge { from: string; to: string; dotted: boolean }
export interface Graph { nodes: GraphNode[]; edges: GraphEdge[] }

// Outcome marks graph.py appends to a label, shown as a word and a colour here (no font glyphs).
const MARKS: [RegExp, string][] = [
  [/\s*✗ error$/, "error"], [/\s*⏸ waiting$/, "waiting"], [/\s*⟲ cached$/, "cached"], [/\s*⏵ resumed$/, "resumed"],
];

const NODE = /^\s*([A-Za-z_][\w]*)\s*(\(\[|\{\{|\[)"(.*)"(\]\)|\}\}|\])\s*$/;
const EDGE = /^\s*([A-Za-z_][\w]*)\s*(-->|-\.->|-\.-)\s*([A-Za-z_][\w]*)\s*$/;

/** The nodes and edges of a flowchart in the subset nbflow writes (other lines are ignored). */
export function parseMermaid(text: string): Graph {
  const nodes: GraphNode[] = [];
  const edges: GraphEdge[] = [];
  for (const line of text.split("\n")) {
    const n = NODE.exec(line);
    if (n) {
      let label = n[3];
      let state = n[1] === "start" ? "start" : n[1] === "finish" ? "finish" : "ok";
      for (const [re, word] of MARKS) {
        if (re.test(label)) {
          label = label.replace(re, "");
          state = word;
        }
      }
      if (n[2] === "{{") state = / · waiting$/.test(label) ? "waiting" : "answered";
      nodes.push({ id: n[1], shape: n[2] === "([" ? "stadium" : n[2] === "{{" ? "hexagon" : "rect", label, state });
      continue;
    }
    const e = EDGE.exec(line);
    if (e) edges.push({ from: e[1], to: e[3], dotted: e[2] !== "-->" });
  }
  return { nodes, edges };
}

/** Layer of each node: the longest path to it from a node without incoming edges. */
function layers(g: Graph): Map<string, number> {
  const incoming = new Map<string, string[]>(g.nodes.map((n) => [n.id, []]));
  for (const e of g.edges) incoming.get(e.to)?.push(e.from);
  const layer = new Map<string, number>();
  const visiting = new Set<string>();
  const depth = (id: string): number => {
    const known = layer.get(id);
    if (known !== undefined) return known;
    if (visiting.has(id)) return 0;  // a cycle (not written by nbflow): cut it
    visiting.add(id);
    const d = Math.max(-1, ...(incoming.get(id) ?? []).map(depth)) + 1;
    visiting.delete(id);
    layer.set(id, d);
    return d;
  };
  g.nodes.forEach((n) => depth(n.id));
  return layer;
}

const SVG = "http://www.w3.org/2000/svg";
const CHAR_PX = 7;
const NODE_H = 28;
const GAP_Y = 12;
const GAP_X = 48;
const MAX_CHARS = 32;

function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  return el;
}

function shorten(text: string): string {
  return text.length > MAX_CHARS ? text.slice(0, MAX_CHARS - 1) + "…" : text;
}

/** The graph as an SVG element, laid out left to right. */
export function drawGraph(g: Graph): SVGSVGElement {
  const layer = layers(g);
  const columns: GraphNode[][] = [];
  for (const n of g.nodes) (columns[layer.get(n.id) ?? 0] ??= []).push(n);
  const width = (n: GraphNode) => Math.max(48, shorten(n.label).length * CHAR_PX + (n.shape === "rect" ? 20 : 32));
  const colW = columns.map((col) => Math.max(...col.map(width)));
  const tallest = Math.max(...columns.map((col) => col.length), 1);
  const height = tallest * (NODE_H + GAP_Y) + GAP_Y;
  const pos = new Map<string, { x: number; y: number; w: number }>();
  let x = 8;
  columns.forEach((col, c) => {
    const top = (height - col.length * (NODE_H + GAP_Y) + GAP_Y) / 2;
    col.forEach((n, i) => pos.set(n.id, { x: x + (colW[c] - width(n)) / 2, y: top + i * (NODE_H + GAP_Y), w: width(n) }));
    x += colW[c] + GAP_X;
  });
  const w = Math.max(x - GAP_X + 8, 40);
  // The viewBox lets CSS scale the drawing down to its box's width (.nbflow-graph-fit), never cut off.
  const root = svg("svg", { class: "nbflow-graph-svg", width: w, height, viewBox: `0 0 ${w} ${height}`, role: "img",
    "aria-label": `graph of ${g.nodes.length} nodes` });
  const defs = svg("defs", {});
  const marker = svg("marker", { id: "nbflow-arrow", viewBox: "0 0 8 8", refX: 7, refY: 4, markerWidth: 7, markerHeight: 7, orient: "auto" });
  marker.append(svg("path", { d: "M0 0L8 4L0 8z", class: "nbflow-graph-arrowhead" }));
  defs.append(marker);
  root.append(defs);
  for (const e of g.edges) {
    const a = pos.get(e.from);
    const b = pos.get(e.to);
    if (!a || !b) continue;
    const x1 = a.x + a.w, y1 = a.y + NODE_H / 2, x2 = b.x, y2 = b.y + NODE_H / 2;
    const mid = (x1 + x2) / 2;
    const path = svg("path", { d: `M${x1} ${y1}C${mid} ${y1} ${mid} ${y2} ${x2 - 1} ${y2}`, class: "nbflow-graph-edge",
      "data-from": e.from, "data-to": e.to });
    if (e.dotted) path.setAttribute("stroke-dasharray", "4 3");
    else path.setAttribute("marker-end", "url(#nbflow-arrow)");
    root.append(path);
  }
  for (const n of g.nodes) {
    const p = pos.get(n.id)!;
    const group = svg("g", { class: "nbflow-graph-node", "data-id": n.id, "data-state": n.state, "data-shape": n.shape });
    const title = svg("title", {});
    title.textContent = n.label + (n.state !== "ok" && n.state !== "start" && n.state !== "finish" ? ` (${n.state})` : "");
    group.append(title);
    if (n.shape === "hexagon") {
      const k = 10;
      group.append(svg("path", { d: `M${p.x + k} ${p.y}H${p.x + p.w - k}L${p.x + p.w} ${p.y + NODE_H / 2}L${p.x + p.w - k} ${p.y + NODE_H}` +
        `H${p.x + k}L${p.x} ${p.y + NODE_H / 2}z`, class: "nbflow-graph-shape" }));
    } else {
      group.append(svg("rect", { x: p.x, y: p.y, width: p.w, height: NODE_H, rx: n.shape === "stadium" ? NODE_H / 2 : 4,
        class: "nbflow-graph-shape" }));
    }
    const text = svg("text", { x: p.x + p.w / 2, y: p.y + NODE_H / 2 + 4, "text-anchor": "middle", class: "nbflow-graph-label" });
    text.textContent = shorten(n.label);
    group.append(text);
    root.append(group);
  }
  return root;
}

/** How the Graph tab sizes its drawing; kept by the view across redraws. */
export type GraphSize = { actual: boolean };

/** The Graph tab's content for one `graph` message. A graph wider than its view is scaled to fit it
 * (never cut off on the right); "Actual size" shows it unscaled in a box that scrolls, "Fit to width" goes back. */
export function graphPanel(mermaid: string, note: string, limit: number, size: GraphSize = { actual: false }): HTMLElement {
  const box = h("div", { class: "nbflow-graph", "data-testid": "nbflow-graph" });
  if (note) box.append(h("div", { class: "nbflow-muted nbflow-graph-note", text: note }));
  if (!mermaid) return box;
  const g = parseMermaid(mermaid);
  const tasks = g.nodes.filter((n) => n.shape === "rect").length;
  if (tasks <= limit) {
    const scroll = h("div", { class: "nbflow-graph-scroll" }, drawGraph(g));
    const toggle = h("button", { type: "button", class: "nbflow-button nbflow-graph-size", "data-testid": "nbflow-graph-size" });
    const apply = () => {
      scroll.classList.toggle("nbflow-graph-fit", !size.actual);
      toggle.textContent = size.actual ? "Fit to width" : "Actual size";
      toggle.setAttribute("aria-pressed", String(size.actual));
    };
    toggle.addEventListener("click", () => { size.actual = !size.actual; apply(); });
    apply();
    box.append(h("div", { class: "nbflow-graph-tools" }, toggle), scroll);
  }
  box.append(h("details", { class: "nbflow-graph-source" }, h("summary", { text: "Mermaid text" }),
    h("pre", { "data-testid": "nbflow-mermaid", text: mermaid })));
  return box;
}
