// nbflow's JupyterLab extension: one plugin per concern, wired here.
//  - nbflow:saved-views  the nbflow MIME renderer (mime.ts) in every notebook
//  - nbflow:kernels      the INbflowKernels service: a comm link per notebook kernel (kernel.ts)
//  - nbflow:sidebar      the Workflows sidebar (sidebar.ts) for the notebook in focus
//  - nbflow:commands     palette + main-menu commands

import { ILabShell, JupyterFrontEnd, JupyterFrontEndPlugin } from "@jupyterlab/application";
import { ICommandPalette, MainAreaWidget } from "@jupyterlab/apputils";
import { DocumentRegistry } from "@jupyterlab/docregistry";
import { IMainMenu } from "@jupyterlab/mainmenu";
import { INotebookModel, INotebookTracker, NotebookPanel } from "@jupyterlab/notebook";
import { OutputArea, OutputAreaModel } from "@jupyterlab/outputarea";
import { IRenderMimeRegistry } from "@jupyterlab/rendermime";
import { ISettingRegistry } from "@jupyterlab/settingregistry";
import { IDisposable } from "@lumino/disposable";
import { Menu, Panel } from "@lumino/widgets";
import { nbflowIcon } from "./icon";
import { KernelLink } from "./kernel";
import { RANK, rendererFactory } from "./mime";
import { MIME_TYPE } from "./saved";
import { WorkflowsSidebar } from "./sidebar";
import { INbflowKernels } from "./tokens";

/** Adds the renderer to each notebook's own rendermime (where the widget renderer lives). */
class SavedViewsInNotebooks implements DocumentRegistry.IWidgetExtension<NotebookPanel, INotebookModel> {
  createNew(panel: NotebookPanel): IDisposable {
    panel.content.rendermime.addFactory(rendererFactory(panel), RANK);
    return { isDisposed: false, dispose() { /* the rendermime goes with the panel */ } };
  }
}

const savedViews: JupyterFrontEndPlugin<void> = {
  id: "nbflow:saved-views",
  description: "Draws nbflow views saved in a notebook when their live widget is unavailable, with Reattach.",
  autoStart: true,
  requires: [IRenderMimeRegistry],
  activate: (app: JupyterFrontEnd, rendermime: IRenderMimeRegistry) => {
    rendermime.addFactory(rendererFactory(null), RANK);
    app.docRegistry.addWidgetExtension("Notebook", new SavedViewsInNotebooks());
  },
};

const kernels: JupyterFrontEndPlugin<INbflowKernels> = {
  id: "nbflow:kernels",
  description: "One comm link per notebook kernel to nbflow's kernel side (nbflow.lab).",
  autoStart: true,
  provides: INbflowKernels,
  activate: (): INbflowKernels => {
    const links = new Map<NotebookPanel, KernelLink>();
    return {
      linkFor(panel: NotebookPanel): KernelLink {
        let link = links.get(panel);
        if (!link) {
          link = new KernelLink(panel.sessionContext);
          links.set(panel, link);
          panel.disposed.connect(() => {
            links.get(panel)?.dispose();
            links.delete(panel);
          });
        }
        return link;
      },
    };
  },
};

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
  void OutputArea.execute(code, area, panel.sessionContext).catch((e) => {
    area.model.add({ output_type: "stream", name: "stderr", text: `nbflow: could not show the timeline: ${e}` });
  });
}

const sidebar: JupyterFrontEndPlugin<WorkflowsSidebar> = {
  id: "nbflow:sidebar",
  description: "The Workflows sidebar: threads and waiting questions of the notebook in focus.",
  autoStart: true,
  requires: [INotebookTracker, INbflowKernels],
  optional: [ILabShell, ISettingRegistry],
  activate: (app: JupyterFrontEnd, tracker: INotebookTracker, kernels: INbflowKernels,
    labShell: ILabShell | null, settings: ISettingRegistry | null): WorkflowsSidebar => {
    let timeFormat: "relative" | "absolute" = "relative";
    const panelOf = new Map<KernelLink, NotebookPanel>();
    const view = new WorkflowsSidebar({
      timeFormat: () => timeFormat,
      openTimeline: (link, code, key) => {
        const panel = panelOf.get(link);
        if (panel) openInMainArea(app, panel, code, key);
      },
    });
    view.title.icon = nbflowIcon;
    app.shell.add(view, "left", { rank: 650 });
    const follow = (panel: NotebookPanel | null): void => {
      if (!panel) return view.setLink(null, "");
      const link = kernels.linkFor(panel);
      panelOf.set(link, panel);
      view.setLink(link, panel.title.label || panel.context.path);
    };
    tracker.currentChanged.connect((_, panel) => follow(panel));
    follow(tracker.currentWidget);
    if (settings) {
      void settings.load("nbflow:sidebar").then((s) => {
        const apply = (): void => {
          timeFormat = s.get("timeFormat").composite === "absolute" ? "absolute" : "relative";
          // Saved views (saved.ts) hide their replayed rows by a rule on this attribute (lab.css).
          document.body.dataset.nbflowCollapseReplayed = String(!!s.get("collapseReplayed").composite);
          view.refreshTimes();
        };
        apply();
        s.changed.connect(apply);
      }).catch(() => { /* settings are optional */ });
    }
    void labShell;
    return view;
  },
};

/** The nbflow view (workflow + thread) in the active cell's outputs, from its saved MIME entry. */
function focusedThread(tracker: INotebookTracker): { panel: NotebookPanel; workflow: string; thread_id: string } | null {
  const panel = tracker.currentWidget;
  const cell = tracker.activeCell;
  if (!panel || !cell || cell.model.type !== "code") return null;
  const outputs = (cell.model as unknown as { outputs: { length: number; get(i: number): { data: Record<string, unknown> } } }).outputs;
  for (let i = outputs.length - 1; i >= 0; i--) {
    const saved = outputs.get(i).data[MIME_TYPE] as { workflow?: string; thread_id?: string } | undefined;
    if (saved?.workflow && saved.thread_id) return { panel, workflow: saved.workflow, thread_id: saved.thread_id };
  }
  return null;
}

const commands: JupyterFrontEndPlugin<void> = {
  id: "nbflow:commands",
  description: "nbflow commands in the palette and the main menu.",
  autoStart: true,
  requires: [INotebookTracker, INbflowKernels],
  optional: [ICommandPalette, IMainMenu],
  activate: (app: JupyterFrontEnd, tracker: INotebookTracker, kernels: INbflowKernels,
    palette: ICommandPalette | null, mainMenu: IMainMenu | null) => {
    const ids = { inbox: "nbflow:open-inbox", timeline: "nbflow:show-timeline", stop: "nbflow:stop-focused" };
    app.commands.addCommand(ids.inbox, {
      label: "nbflow: Open the Workflows Inbox",
      caption: "Threads and waiting questions of the notebook in focus",
      icon: nbflowIcon,
      execute: () => app.shell.activateById("nbflow-workflows"),
    });
    app.commands.addCommand(ids.timeline, {
      label: "nbflow: Show the Timeline of the Focused Cell's Thread",
      isEnabled: () => focusedThread(tracker) !== null,
      execute: () => {
        const f = focusedThread(tracker);
        if (f) kernels.linkFor(f.panel).send({ kind: "timeline", workflow: f.workflow, thread_id: f.thread_id });
      },
    });
    app.commands.addCommand(ids.stop, {
      label: "nbflow: Stop the Running Workflow of the Focused Cell",
      isEnabled: () => focusedThread(tracker) !== null,
      execute: () => {
        const f = focusedThread(tracker);
        if (f) kernels.linkFor(f.panel).send({ kind: "stop", workflow: f.workflow, thread_id: f.thread_id });
      },
    });
    for (const id of Object.values(ids)) palette?.addItem({ command: id, category: "nbflow" });
    if (mainMenu) {
      const menu = new Menu({ commands: app.commands });
      menu.id = "nbflow-menu";
      menu.title.label = "nbflow";
      for (const id of Object.values(ids)) menu.addItem({ command: id });
      mainMenu.addMenu(menu, true, { rank: 900 });
    }
  },
};

export default [savedViews, kernels, sidebar, commands];
