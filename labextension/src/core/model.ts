// What the views in core/ draw from, as plain interfaces (no framework import): the part of a widget
// model's API they use (anywidget's, structurally), and the connection to the kernel behind it. The
// widget glue (../widget/) supplies both; a view only draws.

export interface AnyModel {
  get(name: string): any;
  on(event: string, callback: (...args: any[]) => void): void;
  off(event?: string | null, callback?: ((...args: any[]) => void) | null): void;
  send(content: unknown, callbacks?: unknown, buffers?: ArrayBuffer[]): void;
}

export interface RenderProps {
  model: AnyModel;
  el: HTMLElement;
}

/** The kernel behind a view: sends, and notices when it is gone (restarted, dead, comm closed). */
export interface Connection {
  /** Send to the kernel; false (and the view is told) when the kernel is gone. */
  send(content: unknown): boolean;
  gone(): boolean;
  dispose(): void;
}

/** Open the connection of a view; `onGone` is called once, with why, when the kernel goes away. */
export type Connect = (onGone: (why: string) => void) => Connection;
