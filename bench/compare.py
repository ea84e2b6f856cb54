"""Compare two ``bench/run.py --json`` files: what got better or worse, workload by workload.

``python bench/compare.py OLD.json NEW.json [--threshold 0.05]`` prints, for every workload both
files measured, nbflow's figure before and after, the change, and LangGraph's ratio before and after
(measured in each file's own run, so machine speed cancels out of the ratio). A change smaller than
``--threshold`` (a fraction; default 5 %) is shown as "=". Figures are reported, never asserted:
the exit status is 0 unless a file cannot be read.

``make bench`` writes ``bench/results/<commit>.json`` (``BENCH_JSON`` to choose), so the previous
commit's figures are one ``compare`` away.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def _load(path: str) -> dict[str, Any]:
    try:
        doc = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise SystemExit(f"compare: cannot read {path}: {exc}") from None
    return {w["workload"]: w for w in doc.get("workloads", [])}


def _value(res: Any) -> float | None:
    if not isinstance(res, dict):
        return None
    v = res.get("value")
    return float(v) if isinstance(v, (int, float)) else None


def compare(old: dict[str, Any], new: dict[str, Any], threshold: float = 0.05) -> list[list[str]]:
    """Rows: workload, unit, nbflow old, nbflow new, change, ratio old, ratio new (pure)."""
    rows = []
    for key in [k for k in new if k in old]:
        o, n = old[key], new[key]
        a, b = _value(o.get("nbflow")), _value(n.get("nbflow"))
        if a is None or b is None or a == 0:
            change = "—"
        else:
            rel = (b - a) / a
            # lower is better for every workload (µs, ms, s)
            change = "=" if abs(rel) < threshold else (f"{rel:+.0%} worse" if rel > 0 else f"{-rel:.0%} better")
        ro, rn = o.get("ratio_langgraph_over_nbflow"), n.get("ratio_langgraph_over_nbflow")
        rows.append([key, n.get("unit", ""), "—" if a is None else f"{a:.4g}", "—" if b is None else f"{b:.4g}",
                     change, "—" if ro is None else f"{ro:.1f}x", "—" if rn is None else f"{rn:.1f}x"])
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("old")
    p.add_argument("new")
    p.add_argument("--threshold", type=float, default=0.05, help="smallest change shown (fraction, default 0.05)")
    a = p.parse_args(argv)
    rows = compare(_load(a.old), _load(a.new), a.threshold)
    header = ["workload", "unit", "nbflow before", "nbflow after", "change", "lg/nb before", "lg/nb after"]
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for r in [header, ["-" * w for w in widths], *rows]:
        print("  ".join(str(c).ljust(w) for c, w in zip(r, widths)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
