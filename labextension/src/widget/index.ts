// nbflow's widget front end, loaded by anywidget as the `_esm` of every nbflow widget.
// One bundle serves all three views; the Python class picks one with its `_kind` trait.

import "../style/widget.css";
import { RenderProps } from "./model";
import { renderRun } from "./run";
import { renderTimeline } from "./timeline";
import { renderInbox } from "./inbox";

function render({ model, el }: RenderProps): () => void {
  const kind = model.get("_kind");
  if (kind === "timeline") return renderTimeline(model, el);
  if (kind === "inbox") return renderInbox(model, el);
  return renderRun(model, el);
}

export default { render };
