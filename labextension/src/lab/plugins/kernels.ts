// nbflow:kernels — provides INbflowKernels (../tokens.ts): one comm link (../kernel.ts) per notebook
// kernel, made on first use and closed with its notebook.

import { JupyterFrontEndPlugin } from "@jupyterlab/application";
import { NotebookPanel } from "@jupyterlab/notebook";
import { KernelLink } from "../kernel";
import { INbflowKernels } from "../tokens";

export const kernelsPlugin: JupyterFrontEndPlugin<INbflowKernels> = {
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
