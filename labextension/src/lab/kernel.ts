// The link between a notebook's kernel and the Lab side of nbflow: one comm on
// the `nbflow.lab` target that `%load_ext nbflow` registers
// (nbflow/notebook/comm.py). Its messages are typed once, in
// nbflow/notebook/protocol.py, and generated into ../protocol.gen.ts
// (SidebarToKernel / SidebarToFrontend). Framework-light: it only needs the session context.

import { ISessionContext } from "@jupyterlab/apputils";
import { Kernel, KernelMessage } from "@jupyterlab/services";
import { ISignal, Signal } from "@lumino/signaling";
import {
  JsonValue, SIDEBAR_TARGET, SIDEBAR_TO_FRONTEND, SIDEBAR_VERSION, SidebarToFrontend, SidebarToKernel,
} from "../protocol.gen";

export type { SidebarQuestion, SidebarThread, SidebarToFrontend } from "../protocol.gen";

/** A request as the sidebar writes it: a SidebarToKernel message without its version (send() adds it). */
export type SidebarRequest = SidebarToKernel extends infer M ? (M extends unknown ? Omit<M, "v"> : never) : never;

/** `data` as a sidebar message, when it is one this front end knows (anything else is dropped). */
export function readMessage(data: unknown): SidebarToFrontend | null {
  if (typeof data !== "object" || data === null) return null;
  const m = data as { kind?: unknown; v?: unknown };
  const known = (SIDEBAR_TO_FRONTEND as readonly unknown[]).includes(m.kind);
  return known && m.v === SIDEBAR_VERSION ? (data as SidebarToFrontend) : null;
}

/** `connecting` → `ready`, or `unloaded` (the kernel has no nbflow loaded), or `nokernel`. */
export type LinkState = "nokernel" | "connecting" | "unloaded" | "ready";

export class KernelLink {
  /** JupyterLab's "Model prices" setting, sent to every kernel a link connects to (as default prices). */
  private static prices: Record<string, unknown> = {};
  private static readonly links = new Set<KernelLink>();

  /** A new "Model prices" setting: remembered for kernels to come, sent to the connected ones now. */
  static setPrices(prices: Record<string, unknown>): void {
    KernelLink.prices = prices;
    for (const link of KernelLink.links) link.sendPrices();
  }

  private sendPrices(): void {
    this.send({ kind: "prices", prices: KernelLink.prices as JsonValue });
  }

  private comm: Kernel.IComm | null = null;
  private _state: LinkState = "nokernel";
  private readonly _stateChanged = new Signal<this, LinkState>(this);
  private readonly _message = new Signal<this, SidebarToFrontend>(this);
  private disposed = false;
  private checking = false;

  constructor(readonly session: ISessionContext) {
    KernelLink.links.add(this);
    session.kernelChanged.connect(() => void this.connect(), this);
    session.statusChanged.connect((_, status) => {
      // A cell may have just run `%load_ext nbflow`: try again once the kernel is idle.
      if (status === "idle" && this._state === "unloaded" && !this.checking) void this.connect();
    }, this);
    void this.connect();
  }

  get state(): LinkState {
    return this._state;
  }
  get stateChanged(): ISignal<this, LinkState> {
    return this._stateChanged;
  }
  get message(): ISignal<this, SidebarToFrontend> {
    return this._message;
  }

  private setState(s: LinkState): void {
    if (s !== this._state) {
      this._state = s;
      this._stateChanged.emit(s);
    }
  }

  async connect(): Promise<void> {
    if (this.disposed) return;
    await this.session.ready;
    const kernel = this.session.session?.kernel;
    if (!kernel) return this.setState("nokernel");
    if (this.comm && !this.comm.isDisposed && this._state === "ready") return;
    this.setState("connecting");
    // An unregistered target makes the kernel close the comm at once; a registered one keeps it.
    this.checking = true;
    let loaded = false;
    try {
      loaded = await hasTarget(kernel);
    } catch {
      loaded = false;
    } finally {
      // our own silent request's idle status must not trigger another check
      setTimeout(() => (this.checking = false), 0);
    }
    if (!loaded) return this.setState("unloaded");
    const comm = kernel.createComm(SIDEBAR_TARGET);
    this.comm = comm;
    comm.onMsg = (msg: KernelMessage.ICommMsgMsg) => {
      const m = readMessage(msg.content.data);
      if (m) this._message.emit(m);
      else console.warn("nbflow: a sidebar message this front end does not know was dropped", msg.content.data);
    };
    comm.onClose = () => {
      if (this.comm === comm) {
        this.comm = null;
        this.setState("unloaded");
      }
    };
    comm.open({});
    this.setState("ready");
    this.send({ kind: "list" });
    if (Object.keys(KernelLink.prices).length) this.sendPrices();
  }

  /** Send a request to the kernel; false when there is no ready comm (nothing was sent). */
  send(request: SidebarRequest): boolean {
    if (!this.comm || this.comm.isDisposed || this._state !== "ready") return false;
    const message: SidebarToKernel = { ...request, v: SIDEBAR_VERSION };
    this.comm.send({ ...message });
    return true;
  }

  dispose(): void {
    this.disposed = true;
    KernelLink.links.delete(this);
    Signal.clearData(this);
    if (this.comm && !this.comm.isDisposed) this.comm.close();
    this.comm = null;
  }
}

/** Does the kernel have the nbflow.lab target? Asked by running one silent line (no output, no history). */
async function hasTarget(kernel: Kernel.IKernelConnection): Promise<boolean> {
  const code = "__import__('sys').modules.get('nbflow.notebook.comm') is not None and " +
    `__import__('comm').get_comm_manager().targets.get('${SIDEBAR_TARGET}') is not None`;
  const future = kernel.requestExecute({ code: "", silent: true, store_history: false,
    user_expressions: { nbflow: code } });
  const reply = await future.done;
  const content = reply.content as KernelMessage.IExecuteReply & { user_expressions?: Record<string, { status: string; data?: Record<string, string> }> };
  const r = content.user_expressions?.nbflow;
  return r?.status === "ok" && r.data?.["text/plain"] === "True";
}
