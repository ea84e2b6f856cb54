// The inbox: every thread waiting for input, newest first, each with its interrupt forms.
// Answered items turn "running", then disappear or show their next question.

import { AnyModel } from "./model";
import { FormSpec, ToFrontend, msg } from "./protocol";
import { append, clear, h } from "./dom";
import { FormHandle, renderForm } from "./forms";

interface Item {
  key: string; workflow: string; thread_id: string; state: string; message: string; questions: string[]; forms: FormSpec[];
}

export function renderInbox(model: AnyModel, el: HTMLElement): () => void {
  const root = h("div", { class: "nbflow-inbox", "data-lm-suppress-shortcuts": "true" });
  const title = h("span", { class: "nbflow-name" });
  const refresh = h("button", { type: "button", class: "nbflow-button nbflow-quiet", text: "↻ Refresh" });
  refresh.addEventListener("click", () => model.send(msg("refresh")));
  const list = h("div", { class: "nbflow-inbox-items" });
  append(root, h("div", { class: "nbflow-header" }, title, refresh), list);
  el.append(root);
  let handles = new Map<string, FormHandle>();
  const drawn = new Map<string, { sig: string; el: HTMLElement }>();

  const draw = () => {
    const items: Item[] = model.get("data") ?? [];
    title.textContent = items.length ? `Inbox · ${items.length} waiting for input` : "Inbox";
    const keep = new Set(items.map((i) => i.key));
    for (const [key, d] of drawn) if (!keep.has(key)) { d.el.remove(); drawn.delete(key); }
    clear(list);
    if (!items.length) list.append(h("div", { class: "nbflow-muted", text: "Nothing is waiting for input." }));
    const next = new Map<string, FormHandle>();
    for (const item of items) {
      const sig = JSON.stringify(item);
      let d = drawn.get(item.key);
      if (!d || d.sig !== sig) {  // redraw only items that changed, so half-typed answers elsewhere survive
        const card = h("div", { class: "nbflow-inbox-item", "data-thread-id": item.thread_id, "data-workflow": item.workflow, "data-state": item.state },
          h("div", { class: "nbflow-inbox-title" }, h("b", { text: item.workflow }), ` · thread ${item.thread_id}`,
            item.state === "running" ? h("span", { class: "nbflow-muted", text: " · running…" }) : null));
        if (item.message) card.append(h("div", { class: "nbflow-error", text: item.message }));
        for (const spec of item.forms) {
          const handle = renderForm(spec, (m) => model.send(m), { thread_id: item.thread_id, workflow: item.workflow });
          if (item.state === "running") handle.el.querySelectorAll("button, input, textarea, select").forEach((x) => ((x as HTMLButtonElement).disabled = true));
          next.set(`${item.key}#${spec.id}`, handle);
          card.append(handle.el);
        }
        d = { sig, el: card };
        drawn.set(item.key, d);
      } else {
        for (const spec of item.forms) {
          const old = handles.get(`${item.key}#${spec.id}`);
          if (old) next.set(`${item.key}#${spec.id}`, old);
        }
      }
      list.append(d.el);
    }
    handles = next;
  };
  const onCustom = (content: ToFrontend) => {
    if (content?.kind !== "resume_error") return;
    for (const [key, handle] of handles) {
      if (key.endsWith(`/${content.thread_id}#${content.id}`)) handle.showErrors(content.message, content.errors ?? []);
    }
  };
  model.on("change:data", draw);
  model.on("msg:custom", onCustom);
  draw();
  return () => {
    model.off("change:data", draw);
    model.off("msg:custom", onCustom);
  };
}
