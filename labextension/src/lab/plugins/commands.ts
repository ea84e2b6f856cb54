// nbflow:commands — nbflow's commands in the palette and the main menu: open the Workflows sidebar,
// show the timeline of (or stop) the thread whose view is in the active cell's outputs.

import { JupyterFrontEnd, JupyterFrontEndPlugin } from "@jupyterlab/application";
import { ICommandPalette } from "@jupyterlab/apputils";
import { IMainMenu } from "@jupyterlab/mainmenu";
import { INotebookTracker, NotebookPanel } from "@jupyterlab/notebook";
import { Menu } from "@lumino/widgets";
import { MIME_TYPE } from "../../core/saved";
import { nbflowIcon } from "../icon";
import { INbflowKernels } from "../tokens";

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

export const commandsPlugin: JupyterFrontEndPlugin<void> = {
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

