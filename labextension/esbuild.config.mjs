// Builds the widgets' bundle: src/widget/index.ts (with the core/ views it imports and
// style/widget.css) into ../nbflow/notebook/static/widget.js and widget.css, which anywidget loads.
// The bundle is not committed: `make js` and the wheel build run this. Next to it goes build.json:
// the sha256 of every source that went in (esbuild's metafile inputs, plus this file) and of each
// output, so tests/test_notebook_widgets.py can tell whether the built files still match the sources.
//
//   node esbuild.config.mjs [--outdir DIR] [--watch]

import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { basename, dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const at = args.indexOf("--outdir");
const outdir = at >= 0 ? args[at + 1] : join(here, "..", "nbflow", "notebook", "static");
const watch = args.includes("--watch");

export const options = {
  entryPoints: [join(here, "src", "widget", "index.ts")],
  bundle: true,
  format: "esm",
  target: "es2020",
  minifySyntax: true,
  legalComments: "none",
  outfile: join(outdir, "widget.js"),
  absWorkingDir: here,
  metafile: true,
  logLevel: "warning",
};

const sha256 = (path) => createHash("sha256").update(readFileSync(path)).digest("hex");

/** build.json: what went into the bundle and what came out, by content hash. */
function record(metafile) {
  const inputs = {};
  for (const name of [...Object.keys(metafile.inputs), "esbuild.config.mjs"].sort()) {
    inputs[name] = sha256(join(here, name));
  }
  const outputs = {};
  for (const name of Object.keys(metafile.outputs).sort()) outputs[basename(name)] = sha256(join(here, name));
  const info = { built_by: relative(join(here, ".."), join(here, "esbuild.config.mjs")), esbuild: esbuild.version,
    inputs, outputs };
  writeFileSync(join(outdir, "build.json"), JSON.stringify(info, null, 1) + "\n");
}

if (watch) {
  const ctx = await esbuild.context({ ...options,
    plugins: [{ name: "record", setup(b) { b.onEnd((r) => { if (r.metafile) record(r.metafile); }); } }] });
  await ctx.watch();
} else {
  const result = await esbuild.build(options);
  record(result.metafile);
}
