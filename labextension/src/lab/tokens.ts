// The service other plugins use: a KernelLink per notebook (one nbflow.lab comm per kernel).

import { NotebookPanel } from "@jupyterlab/notebook";
import { Token } from "@lumino/coreutils";
import { KernelLink } from "./kernel";

export interface INbflowKernels {
  /** The link to `panel`'s kernel (made on first use, closed with the panel). */
  linkFor(panel: NotebookPanel): KernelLink;
}

export const INbflowKernels = new Token<INbflowKernels>("nbflow:INbflowKernels",
  "Comm links to the nbflow side of each notebook's kernel.");
