// nbflow:saved-views — the nbflow MIME renderer (../mime.ts) in every notebook: the live widget when its
// model is alive in this page, the saved view (core/saved.ts) otherwise.

import { JupyterFrontEnd, JupyterFrontEndPlugin } from "@jupyterlab/application";
import { DocumentRegistry } from "@jupyterlab/docregistry";
import { INotebookModel, NotebookPanel } from "@jupyterlab/notebook";
import { IRenderMimeRegistry } from "@jupyterlab/rendermime";
import { IDisposable } from "@lumino/disposable";
import { RANK, rendererFactory } from "../mime";

/** Adds the renderer to each notebook's own rendermime (where the widget renderer lives). */
class SavedViewsInNotebooks implements DocumentRegistry.IWidgetExtension<NotebookPanel, INotebookModel> {
  createNew(panel: NotebookPanel): IDisposable {
    panel.content.rendermime.addFactory(rendererFactory(panel), RANK);
    return { isDisposed: false, dispose() { /* the rendermime goes with the panel */ } };
  }
}

export const savedViewsPlugin: JupyterFrontEndPlugin<void> = {
  id: "nbflow:saved-views",
  description: "Draws nbflow views saved in a notebook when their live widget is unavailable, with Reattach.",
  autoStart: true,
  requires: [IRenderMimeRegistry],
  activate: (app: JupyterFrontEnd, rendermime: IRenderMimeRegistry) => {
    rendermime.addFactory(rendererFactory(null), RANK);
    app.docRegistry.addWidgetExtension("Notebook", new SavedViewsInNotebooks());
  },
};
