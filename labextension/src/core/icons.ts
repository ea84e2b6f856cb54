// Icons as inline SVG (no font glyphs: symbols like U+23F8 or emoji render as boxes without the right fonts).

const PATHS: Record<string, string> = {
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
  play: "M5 3.5l7 4.5-7 4.5z",
};

/** An inline SVG icon (16×16, stroke in currentColor). */
export function icon(name: string, title = ""): SVGSVGElement {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "0 0 16 16");
  svg.setAttribute("width", "14");
  svg.setAttribute("height", "14");
  svg.setAttribute("class", `nbflow-icon nbflow-icon-${name}`);
  svg.setAttribute("aria-hidden", title ? "false" : "true");
  if (title) {
    const t = document.createElementNS(ns, "title");
    t.textContent = title;
    svg.append(t);
  }
  const path = document.createElementNS(ns, "path");
  path.setAttribute("d", PATHS[name] ?? PATHS.question);
  path.setAttribute("fill", "none");
  path.setAttribute("stroke", "currentColor");
  path.setAttribute("stroke-width", "1.8");
  path.setAttribute("stroke-linecap", "round");
  path.setAttribute("stroke-linejoin", "round");
  svg.append(path);
  return svg;
}
