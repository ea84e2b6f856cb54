// nbflow's widget front end, loaded by anywidget as the `_esm` of every nbflow widget: the entry and
// its glue. One bundle serves all three views (core/run.ts, core/timeline.ts, core/inbox.ts); the
// Python class picks one with its `_kind` trait, and the view talks to the kernel through the
// widget model's connection (conn.ts).

import "../../style/widget.css";
import { RenderProps } from "../core/model";
import { renderRun } from "../core/run";
import { renderTimeline } from "../core/timeline";
import { renderInbox } from "../core/inbox";
import { watchConnection } from "./conn";

function render({ model, el }: RenderProps): () => void {
  const kind = model.get("_kind");
  if (kind === "timeline") return renderTimeline(model, el);
  const connect = (onGone: (why: string) => void) => watchConnection(model, onGone);
  if (kind === "inbox") return renderInbox(model, el, connect);
  return renderRun(model, el, connect);
}

export default { render };
