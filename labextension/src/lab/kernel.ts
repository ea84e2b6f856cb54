// The link between a notebook's kernel and the Lab side of nbflow: one comm on
// the `nbflow.lab` target that `%load_ext nbflow` registers
// (nbflow/notebook/comm.py). Framework-light: it only needs the session context.

import { ISessionContext } from "@jupyterlab/apputils";
import { Kernel, KernelMessage } from "@jupyterlab/services";
import { ISignal, Signal } from "@lumino/signaling";

export const TARGET = "nbflow.lab";
export const VERSION = 1;

export interface SidebarQuestion {
  id: string;
  task: string;
  summary: string;
  form: Record<string, unknown>;
}

export interface SidebarThread {
  key: string;
  workflow: string;
  thread_id: string;
  status: string;
  last_activity: number | null;
  checkpointer: string;
  questions: SidebarQuestion[];
}

export type FromKernel =
  | { kind: "threads"; threads: SidebarThread[]; workflows: string[] }
  | { kind: "thread"; thread: SidebarThread }
  | { kind: "timeline_code"; key: string; code: string }
  | { kind: "ok"; request: string; key: string }
  | { kind: "error"; request: string | null; message: string; key: string };

/** `connecting` → `ready`, or `unloaded` (the kernel has no nbflow loaded), or `nokernel`. */
export type LinkState = "nokernel" | "connecting" | "unloaded" | "ready";

export class KernelLink {
  private comm: Kernel.IComm | null = null;
  private _state: LinkState = "nokernel";
  private readonly _stateChanged = new Signal<this, LinkState>(this);
  private readonly _message = new Signal<this, FromKernel>(this);
  private disposed = false;
  private checking = false;

  constructor(readonly session: ISessionContext) {
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
  get message(): ISignal<this, FromKernel> {
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
    const comm = kernel.createComm(TARGET);
    this.comm = comm;
    comm.onMsg = (msg: KernelMessage.ICommMsgMsg) => this._message.emit(msg.content.data as unknown as FromKernel);
    comm.onClose = () => {
      if (this.comm === comm) {
        this.comm = null;
        this.setState("unloaded");
      }
    };
    comm.open({});
    this.setState("ready");
    this.send({ kind: "list" });
  }

  send(data: Record<string, unknown>): boolean {
    if (!this.comm || this.comm.isDisposed || this._state !== "ready") return false;
    this.comm.send({ v: VERSION, ...data } as never);
    return true;
  }

  dispose(): void {
    this.disposed = true;
    Signal.clearData(this);
    if (this.comm && !this.comm.isDisposed) this.comm.close();
    this.comm = null;
  }
}

/** Does the kernel have the nbflow.lab target? Asked by running one silent line (no output, no history). */
async function hasTarget(kernel: Kernel.IKernelConnection): Promise<boolean> {
  const code = "__import__('sys').modules.get('nbflow.notebook.comm') is not None and " +
    "__import__('comm').get_comm_manager().targets.get('nbflow.lab') is not None";
  const future = kernel.requestExecute({ code: "", silent: true, store_history: false,
    user_expressions: { nbflow: code } });
  const reply = await future.done;
  const content = reply.content as KernelMessage.IExecuteReply & { user_expressions?: Record<string, { status: string; data?: Record<string, string> }> };
  const r = content.user_expressions?.nbflow;
  return r?.status === "ok" && r.data?.["text/plain"] === "True";
}
