// A thread's questions as forms, diffed: a pending form is built once and never rebuilt while it is
// open (typed text and focus survive every update); an answered one turns read-only in place and says
// where the answer came from. With several open questions, "Send all" answers them in one resume.

import { FieldError, Question, msg } from "./protocol";
import { h } from "./dom";
import { Drafts, FormHandle, renderForm } from "./forms";

export interface QuestionList {
  el: HTMLElement;
  update(questions: Question[]): void;
  showErrors(id: string, message: string, errors: FieldError[]): void;
  disable(reason: string): void;
}

export function questionList(send: (m: Record<string, unknown>) => boolean, extra: Record<string, unknown>,
  drafts: Record<string, Drafts>): QuestionList {
  const el = h("div", { class: "nbflow-forms" });
  const list = h("div", { class: "nbflow-form-list" });
  const sendAll = h("button", { type: "button", class: "nbflow-button nbflow-send-all", "data-testid": "nbflow-send-all", text: "Send all answers", hidden: true });
  const allState = h("span", { class: "nbflow-form-state" });
  const bar = h("div", { class: "nbflow-send-all-bar", hidden: true }, sendAll, allState);
  el.append(list, bar);
  const handles = new Map<string, FormHandle>();
  let disabled = "";

  const open = () => [...handles.values()].filter((f) => f.el.dataset.answered !== "true");
  sendAll.addEventListener("click", () => {
    const forms = open().filter((f) => f.el.dataset.sending !== "true");
    const answers: Record<string, unknown>[] = [];
    let bad = false;
    for (const f of forms) {
      const a = f.read();
      if (a) answers.push({ id: f.id, ...a });
      else bad = true;
    }
    if (bad || !answers.length) return;
    if (send(msg("resume_all", { answers, ...extra }))) {
      forms.forEach((f) => f.sending());
      allState.textContent = "sending…";
    }
  });

  return {
    el,
    update(questions: Question[]) {
      const seen = new Set<string>();
      for (const q of questions) {
        seen.add(q.id);
        let f = handles.get(q.id);
        if (!f) {
          drafts[q.id] ??= {};
          f = renderForm(q.form, send, extra, drafts[q.id]);
          handles.set(q.id, f);
          list.append(f.el);
          if (disabled) f.disable(disabled);
        }
        if (q.state !== "pending") {
          f.answered(q);
          delete drafts[q.id];
        }
      }
      for (const [id, f] of handles) {
        if (!seen.has(id)) {
          f.el.remove();
          handles.delete(id);
        }
      }
      const pending = open().length;
      bar.hidden = pending < 2 || !!disabled;
      sendAll.hidden = bar.hidden;
      if (pending < 2) allState.textContent = "";
    },
    showErrors(id: string, message: string, errors: FieldError[]) {
      allState.textContent = "";
      const f = handles.get(id);
      if (f) f.showErrors(message, errors);
      else open().forEach((x) => x.showErrors(message, []));
      open().forEach((x) => {
        if (x !== f && x.el.dataset.sending === "true") x.showErrors("", []);
      });
    },
    disable(reason: string) {
      disabled = reason;
      handles.forEach((f) => f.disable(reason));
      bar.hidden = true;
    },
  };
}
