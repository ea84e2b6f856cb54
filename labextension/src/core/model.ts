// The part of anywidget's model API these views use.
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
