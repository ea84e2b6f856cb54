// The widget wire format. The types are GENERATED from nbflow/notebook/protocol.py into
// protocol.gen.ts (npm run build regenerates it; tests/test_notebook_protocol.py checks it).
export * from "../protocol.gen";
import { ToKernel, VERSION } from "../protocol.gen";

type Kind = ToKernel["kind"];

/** A message to the kernel: {kind, v, ...fields}. */
export function msg(kind: Kind, fields: Record<string, unknown> = {}): Record<string, unknown> {
  return { kind, v: VERSION, ...fields };
}
