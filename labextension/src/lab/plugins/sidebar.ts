// nbflow:sidebar — the Workflows sidebar in the left area: a SidebarModel (../sidebar/model.ts) fed by
// the kernel link of the notebook in focus, drawn by WorkflowsSidebar (../sidebar/view.ts); the
// timelines it asks for open in the main area; the settings (schema/sidebar.json) apply at once.

import { ILabShell, JupyterFrontEnd, JupyterFrontEndPlugin } from "@jupyterlab/application";
import { MainAreaWidget } from "@jupyterlab/apputils";
import { INotebookTracker, NotebookPanel } from "@jupyterlab/notebook";
import { OutputArea, OutputAreaModel } from "@jupyterlab/outputarea";
import { ISettingRegistry } from "@jupyterlab/settingregistry";
import { Panel } from "@lumino/widgets";
import { nbflowIcon } from "../icon";
import { KernelLink, LinkState, SidebarToFrontend } from "../kernel";
import { SidebarModel } from "../sidebar/model";
import { WorkflowsSidebar } from "../sidebar/view";
import { INbflowKernels } from "../tokens";

/** Run `code` in the notebook's kernel and show its output (a timeline view) in the main area. */
function openInMainArea(app: JupyterFrontEnd, panel: NotebookPanel, code: string, label: string): void {
  const area = new OutputArea({ model: new OutputAreaModel({ trusted: true }), rendermime: panel.content.rendermime });
  const content = new Panel();
  content.addClass("nbflow-main");
  content.addWidget(area);
  const widget = new MainAreaWidget({ content });
  widget.id = `nbflow-timeline-${Date.now()}`;
  widget.title.label = `Timeline · ${label}`;
  widget.title.icon = nbflowIcon;
  widget.title.closable = true;
  app.shell.add(widget, "main", { mode: "split-right" });
  app.shell.activateById(widget.id);
  // Not through OutputArea.execute: that stores the code in the kernel's history, so the notebook's execution
  // counter would jump (issue 21 point 5). The timeline's output still goes to this area.
  const kernel = panel.sessionContext.session?.kernel;
  if (!kernel) {
    area.model.add({ output_type: "stream", name: "stderr", text: "nbflow: could not show the timeline: no kernel" });
    return;
  }
  const future = kernel.requestExecute({ code, silent: false, store_history: false, allow_stdin: false });
  area.future = future;
  future.done.catch((e: unknown) => {
    area.model.add({ output_type: "stream", name: "stderr", text: `nbflow: could not show the timeline: ${e}` });
  });
}

/** Feeds the model from one notebook's kernel link at a time. */
class Follower {
  private link: KernelLink | null = null;
  panel: NotebookPanel | null = null;

  constructor(private readonly model: SidebarModel) {}

  follow(link: KernelLink | null, panel: NotebookPanel | null): void {
    if (link === this.link) return;
    this.link?.stateChanged.disconnect(this.onState, this);
    this.link?.message.disconnect(this.onMessage, this);
    this.link = link;
    this.panel = panel;
    if (!link || !panel) return this.model.follow(null, null, "nokernel");
    link.stateChanged.connect(this.onState, this);
    link.message.connect(this.onMessage, this);
    this.model.follow(panel.title.label || panel.context.path, (r) => link.send(r), link.state);
  }

  private onState(_: KernelLink, s: LinkState): void {
    this.model.setState(s);
  }

  private onMessage(_: KernelLink, m: SidebarToFrontend): void {
    this.model.receive(m);
  }
}

export const sidebarPlugin: JupyterFrontEndPlugin<WorkflowsSidebar> = {
  id: "nbflow:sidebar",
  description: "The Workflows sidebar: threads and waiting questions of the notebook in focus.",
  autoStart: true,
  requires: [INotebookTracker, INbflowKernels],
  optional: [ILabShell, ISettingRegistry],
  activate: (app: JupyterFrontEnd, tracker: INotebookTracker, kernels: INbflowKernels,
    _labShell: ILabShell | null, settings: ISettingRegistry | null): WorkflowsSidebar => {
    const model = new SidebarModel();
    const view = new WorkflowsSidebar(model);
    view.title.icon = nbflowIcon;
    app.shell.add(view, "left", { rank: 650 });
    const follower = new Follower(model);
    model.subscribe((c) => {
      if (c.kind === "timeline" && follower.panel) openInMainArea(app, follower.panel, c.code, c.key);
    });
    const follow = (panel: NotebookPanel | null): void =>
      follower.follow(panel ? kernels.linkFor(panel) : null, panel);
    tracker.currentChanged.connect((_, panel) => follow(panel));
    follow(tracker.currentWidget);
    if (settings) {
      void settings.load("nbflow:sidebar").then((s) => {
        const apply = (): void => {
          model.setTimeFormat(s.get("timeFormat").composite === "absolute" ? "absolute" : "relative");
          // Saved views (core/saved.ts) hide their replayed rows by a rule on this attribute (lab.css).
          document.body.dataset.nbflowCollapseReplayed = String(!!s.get("collapseReplayed").composite);
          // Model prices: every kernel the sidebar talks to gets them as defaults (nbflow.set_prices wins).
          const prices = s.get("prices").composite;
          KernelLink.setPrices(prices && typeof prices === "object" && !Array.isArray(prices) ? prices as Record<string, unknown> : {});
        };
        apply();
        s.changed.connect(apply);
      }).catch(() => { /* settings are optional */ });
    }
    return view;
  },
};
