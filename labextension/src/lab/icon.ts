// nbflow's icon: three nodes of a flow, as inline SVG in the theme's icon colour.
import { LabIcon } from "@jupyterlab/ui-components";

const SVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24" width="16" height="16">
<g class="jp-icon3" fill="#616161"><circle cx="5" cy="6" r="3"/><circle cx="5" cy="18" r="3"/><circle cx="19" cy="12" r="3"/>
<path d="M7.6 7.4l8.8 3.3-.6 1.6-8.8-3.3zM7 16.3l9-3.6.6 1.6-9 3.6z"/></g></svg>`;

export const nbflowIcon = new LabIcon({ name: "nbflow:icon", svgstr: SVG });
