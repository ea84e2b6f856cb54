// nbflow's JupyterLab extension: one plugin per concern (plugins/), wired here.
//  - nbflow:saved-views  the nbflow MIME renderer (mime.ts) in every notebook
//  - nbflow:kernels      the INbflowKernels service (tokens.ts): a comm link per notebook kernel (kernel.ts)
//  - nbflow:sidebar      the Workflows sidebar (sidebar/model.ts, sidebar/view.ts) for the notebook in focus
//  - nbflow:commands     palette + main-menu commands

import { commandsPlugin } from "./plugins/commands";
import { kernelsPlugin } from "./plugins/kernels";
import { savedViewsPlugin } from "./plugins/savedViews";
import { sidebarPlugin } from "./plugins/sidebar";

export default [savedViewsPlugin, kernelsPlugin, sidebarPlugin, commandsPlugin];
