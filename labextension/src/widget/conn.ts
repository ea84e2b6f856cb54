// The anywidget side of a view's connection (core/model.ts's Connection): noticing that the kernel
// behind a widget model is gone (restarted, dead, comm closed), so forms are disabled with a way to
// reattach instead of "sending…" forever.

import { AnyModel, Connection } from "../core/model";

const DEAD = new Set(["restarting", "autorestarting", "dead", "terminating"]);

export function watchConnection(model: AnyModel, onGone: (why: string) => void): Connection {
  let isGone = false;
  const fail = (why: string) => {
    if (isGone) return;
    isGone = true;
    onGone(why);
  };
  const onClose = () => fail("the kernel closed this view's connection");
  const onLive = () => fail("the kernel connection was lost");
  model.on("comm:close", onClose);
  model.on("comm_live_update", onLive);
  const kernel = (model as any).widget_manager?.kernel;
  const onStatus = (_k: unknown, status: string) => {
    if (DEAD.has(status)) fail(status === "dead" ? "the kernel died" : "the kernel was restarted");
  };
  try {
    kernel?.statusChanged?.connect(onStatus);
    if (kernel && DEAD.has(kernel.status)) fail("the kernel is not running");
  } catch {
    /* not JupyterLab: rely on comm events and send errors */
  }
  return {
    send(content: unknown): boolean {
      if (isGone) return false;
      try {
        model.send(content);
        return true;
      } catch (e) {
        fail(`the kernel cannot be reached (${(e as Error).message})`);
        return false;
      }
    },
    gone: () => isGone,
    dispose() {
      model.off("comm:close", onClose);
      model.off("comm_live_update", onLive);
      try {
        kernel?.statusChanged?.disconnect(onStatus);
      } catch {
        /* ignore */
      }
    },
  };
}
