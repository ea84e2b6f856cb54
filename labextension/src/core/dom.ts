// Small DOM helpers shared by the views.

type Attrs = Record<string, string | number | boolean | null | undefined>;
type Child = Node | string | null | undefined | false;

/** Create an element: h("div", {class: "x", "data-id": 3}, child, "text"). */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K, attrs: Attrs = {}, ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") el.className = String(value);
    else if (key === "text") el.textContent = String(value);
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  append(el, ...children);
  return el;
}

export function append(el: Element, ...children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    el.append(typeof c === "string" ? document.createTextNode(c) : c);
  }
}

export function clear(el: Element): void {
  while (el.firstChild) el.removeChild(el.firstChild);
}

/** "0.42 s", "12.3 s", "2 min 05 s". */
export function duration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !isFinite(seconds)) return "";
  if (seconds < 10) return `${seconds.toFixed(2)} s`;
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const m = Math.floor(seconds / 60);
  const s = Math.floor(seconds % 60);
  return `${m} min ${String(s).padStart(2, "0")} s`;
}

export function badge(text: string, kind = ""): HTMLSpanElement {
  return h("span", { class: `nbflow-badge${kind ? " nbflow-badge-" + kind : ""}`, text });
}

/** Keep a scroll box pinned to its bottom while new content arrives, unless the user scrolled up. */
export function stickToBottom(box: HTMLElement, update: () => void): void {
  const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 24;
  update();
  if (atBottom) box.scrollTop = box.scrollHeight;
}
