// The nbflow MIME renderer. Ranked above the widget renderer in each notebook,
// it shows the live widget when its model is alive in this page, and the saved
// view (../core/saved.ts) otherwise — never "Error displaying widget: model not found".
// Reattach runs the bundle's `nbflow.show(...)` in the notebook's kernel and
// shows the live view it displays in place.

import { NotebookPanel } from "@jupyterlab/notebook";
import { IRenderMimeRegistry, MimeModel } from "@jupyterlab/rendermime";
import { IRenderMime } from "@jupyterlab/rendermime-interfaces";
import { KernelMessage } from "@jupyterlab/services";
import { Message } from "@lumino/messaging";
import { Panel, Widget } from "@lumino/widgets";
import { MIME_TYPE, SavedHandles, readSaved, renderSaved } from "../core/saved";

export const WIDGET_MIME = "application/vnd.jupyter.widget-view+json";
/** Lower ranks win; the widget manager registers its renderer at -10. */
export const RANK = -20;

// The parts of @jupyter-widgets' manager we look at (it is not a dependency of
// ours: its renderer comes from the notebook's rendermime when it is installed).
interface WidgetManagerLike {
  has_model?(id: string): boolean;
  restoredStatus?: boolean;
  restored?: { connect(fn: () => void): void; disconnect(fn: () => void): void };
}

async function widgetManager(renderer: IRenderMime.IRenderer): Promise<WidgetManagerLike | null> {
  const delegate = (renderer as unknown as { _manager?: { promise?: Promise<WidgetManagerLike> } })._manager;
  if (!delegate?.promise) return null;
  return delegate.promise;
}

/** Resolve when the manager knows `id` (true) or has restored without it (false). */
function modelAlive(mgr: WidgetManagerLike, id: string): Promise<boolean> {
  if (!mgr.has_model) return Promise.resolve(false);
  if (mgr.has_model(id) || mgr.restoredStatus !== false || !mgr.restored) return Promise.resolve(mgr.has_model(id));
  return new Promise((resolve) => {
    const done = (): void => {
      mgr.restored?.disconnect(done);
      resolve(!!mgr.has_model?.(id));
    };
    mgr.restored!.connect(done);
  });
}

/** The saved views drawn in each notebook: one successful Reattach reattaches the others too (after a page
 * reload with the kernel alive, every view was saved-only; one click brings them all back). */
const savedIn = new WeakMap<NotebookPanel, Set<NbflowViewRenderer>>();

export class NbflowViewRenderer extends Panel implements IRenderMime.IRenderer {
  constructor(_options: IRenderMime.IRendererOptions, private readonly panel: NotebookPanel | null) {
    super();
    this.addClass("nbflow-mime");
  }

  private get rendermime(): IRenderMimeRegistry | null {
    return this.panel?.content.rendermime ?? null;
  }

  private live: { id: string; renderer: IRenderMime.IRenderer } | null = null;

  async renderModel(model: IRenderMime.IMimeModel): Promise<void> {
    const widgetData = model.data[WIDGET_MIME] as { model_id?: string } | undefined;
    const id = widgetData?.model_id;
    const rm = this.rendermime;
    if (id && this.live?.id === id && !this.live.renderer.isDisposed) {
      // The same live widget, with refreshed fallbacks (the thread settled): let it update in place.
      return this.live.renderer.renderModel(model);
    }
    // The saved state at once; the live widget replaces it as soon as its model is known to be alive
    // (without a kernel the widget manager may never finish restoring: the saved view stays).
    this.showSaved(model);
    if (id && rm?.getFactory(WIDGET_MIME)) {
      const live = rm.createRenderer(WIDGET_MIME);
      const mgr = await widgetManager(live);
      if (mgr && (await modelAlive(mgr, id)) && !this.isDisposed) {
        await live.renderModel(model);
        this.show_(live, id);
        return;
      }
      live.dispose();
    }
  }

  private saved: { code: string; handles: SavedHandles } | null = null;

  private show_(w: Widget, liveId?: string): void {
    for (const child of [...this.widgets]) child.dispose();
    if (liveId) this.forget();
    this.live = liveId ? { id: liveId, renderer: w as IRenderMime.IRenderer } : null;
    this.node.dataset.nbflowView = liveId ? "live" : "saved";
    this.addWidget(w);
    this.syncTwin();
  }

  protected onAfterAttach(msg: Message): void {
    super.onAfterAttach(msg);
    this.syncTwin();
    requestAnimationFrame(() => this.syncTwin());  // the twin output may be added just after this one
  }

  /**
   * The view's static HTML twin (the next output) is not needed while the saved view stands in:
   * hide it with a class (a plain class selector; no :has() rule re-evaluated on every DOM change).
   */
  private syncTwin(): void {
    const next = this.node.closest(".jp-OutputArea-child")?.nextElementSibling;
    if (next instanceof HTMLElement && next.querySelector(".nbflow-twin")) {
      next.classList.toggle("nbflow-twin-covered", this.live === null && !this.isDisposed);
    }
  }

  private forget(): void {
    this.saved = null;
    if (this.panel) savedIn.get(this.panel)?.delete(this);
  }

  dispose(): void {
    this.forget();
    const next = this.node.closest(".jp-OutputArea-child")?.nextElementSibling;
    if (next instanceof HTMLElement) next.classList.remove("nbflow-twin-covered");
    super.dispose();
  }

  private showSaved(model: IRenderMime.IMimeModel): void {
    const view = readSaved(model.data[MIME_TYPE]);
    const holder = new Widget();
    if (!view) {
      const text = String(model.data["text/plain"] ?? "");
      holder.node.append(Object.assign(document.createElement("pre"), { textContent: text }));
      holder.node.dataset.nbflowUnsupported = "1";
      this.show_(holder);
      return;
    }
    const handles = renderSaved(view);
    holder.node.append(handles.root);
    this.show_(holder);
    this.saved = { code: view.reattach, handles };
    if (this.panel) {
      if (!savedIn.has(this.panel)) savedIn.set(this.panel, new Set());
      savedIn.get(this.panel)!.add(this);
    }
    handles.reattach.addEventListener("click", () => void this.reattach(view.reattach, handles, true));
  }

  /** Reattach this saved view (its own code: the thread, or the turn it keeps), as if its button were pressed. */
  reattachSaved(): void {
    if (this.saved && !this.saved.handles.reattach.disabled) void this.reattach(this.saved.code, this.saved.handles, false);
  }

  private async reattach(code: string, handles: SavedHandles, cascade: boolean): Promise<void> {
    const say = (text: string, state: string): void => {
      handles.note.textContent = text;
      handles.root.dataset.reattach = state;
    };
    const panel = this.panel;
    const rm = this.rendermime;
    if (!panel || !rm) return say("Reattach works in a notebook: open this notebook in JupyterLab.", "error");
    const ctx = panel.sessionContext;
    await ctx.ready;
    const kernel = ctx.session?.kernel;
    if (!kernel) return say("No kernel is running: start one (Kernel menu), then Reattach.", "error");
    handles.reattach.disabled = true;
    say("Reattaching…", "busy");
    let shown = false;
    const future = kernel.requestExecute({ code, silent: false, store_history: false, allow_stdin: false });
    future.onIOPub = (msg: KernelMessage.IIOPubMessage): void => {
      const t = msg.header.msg_type;
      if (!shown && (t === "display_data" || t === "execute_result")) {
        const data = (msg.content as KernelMessage.IDisplayDataMsg["content"]).data;
        const type = rm.preferredMimeType(data, "any");
        if (!type || !(WIDGET_MIME in data)) return;
        shown = true;
        const r = rm.createRenderer(WIDGET_MIME);
        const liveId = String((data[WIDGET_MIME] as { model_id?: string }).model_id ?? "");
        void r.renderModel(new MimeModel({ data, trusted: true })).then(() => this.show_(r, liveId));
      } else if (t === "error") {
        const c = msg.content as KernelMessage.IErrorMsg["content"];
        const hint = c.ename === "NameError" ? " Run the cell that defines the workflow first, then Reattach." : "";
        say(`Reattach failed: ${c.ename}: ${c.evalue}.${hint}`, "error");
      }
    };
    try {
      await future.done;
    } catch {
      /* the error reply was reported through IOPub */
    }
    if (!shown) handles.reattach.disabled = false;
    if (!shown && handles.root.dataset.reattach === "busy") say("Reattach ran but showed no view.", "error");
    if (shown && cascade && panel) {
      for (const other of [...(savedIn.get(panel) ?? [])]) if (other !== this) other.reattachSaved();
    }
  }
}

export function rendererFactory(panel: NotebookPanel | null): IRenderMime.IRendererFactory {
  return {
    safe: true,
    mimeTypes: [MIME_TYPE],
    defaultRank: RANK,
    createRenderer: (options) => new NbflowViewRenderer(options, panel),
  };
}
