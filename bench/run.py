#!/usr/bin/env python3
"""Benchmark nbflow against LangGraph on identical workloads.

    python bench/run.py                    # every workload, both libraries
    python bench/run.py --quick            # smaller repeat counts
    python bench/run.py --only nbflow      # one library
    python bench/run.py --workload fanout_memory --workload invoke_sqlite
    python bench/run.py --json results.json

Each (library, workload) pair runs in a subprocess of its own, so the two
libraries' imports, thread pools and caches never meet. The workloads are in
bench/workloads.py, written once for both. Figures are printed, with the
ratio langgraph/nbflow (how many times lower nbflow's figure is) and the
target from the issue tracker; nothing is asserted.

Exit status: 0 when every requested worker ran (a workload that raised is
shown as an error in the table), 1 when --only names a library that cannot
be imported, or when no library can be imported at all.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

if HERE not in sys.path:
    sys.path.insert(0, HERE)

import workloads  # noqa: E402  (after the sys.path line)

# --------------------------------------------------------------------------
# worker side: one library, one workload, JSON to a file


def _worker(lib_name: str, key: str | None, quick: bool, out: str) -> int:
    if lib_name == "nbflow" and ROOT not in sys.path:
        sys.path.insert(0, ROOT)  # the checkout's nbflow, installed or not
    record: dict = {"library": lib_name}
    try:
        lib = workloads.load_lib(lib_name)
        record["version"] = lib.version
    except BaseException as exc:
        record["import_error"] = f"{type(exc).__name__}: {exc}"
        _write(out, record)
        return 0
    if key is not None:
        w = workloads.BY_KEY[key]
        t0 = time.perf_counter()
        try:
            record["result"] = w.fn(lib, quick)
        except BaseException as exc:
            if isinstance(exc, KeyboardInterrupt):
                raise
            record["result"] = {
                "error": f"{type(exc).__name__}: {exc}"[:500],
                "traceback": traceback.format_exc()[-4000:],
            }
        record["elapsed_s"] = time.perf_counter() - t0
    _write(out, record)
    return 0


def _write(path: str, record: dict) -> None:
    with open(path, "w") as f:
        json.dump(record, f, default=repr)


def _spawn(lib_name: str, key: str | None, quick: bool, timeout: float) -> dict:
    fd, out = tempfile.mkstemp(prefix=f"bench-{lib_name}-", suffix=".json")
    os.close(fd)
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", lib_name, "--out", out]
    if key is not None:
        cmd += ["--workload", key]
    if quick:
        cmd.append("--quick")
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    try:
        proc = subprocess.run(cmd, cwd=ROOT, env=env, timeout=timeout, capture_output=True, text=True)
        try:
            with open(out) as f:
                return json.load(f)
        except (OSError, ValueError):
            tail = (proc.stderr or proc.stdout or "").strip()[-1500:]
            return {
                "library": lib_name,
                "result": {"error": f"worker exited with status {proc.returncode}: {tail}"},
            }
    except subprocess.TimeoutExpired:
        return {"library": lib_name, "result": {"error": f"timed out after {timeout:.0f} s"}}
    finally:
        try:
            os.unlink(out)
        except OSError:
            pass


# --------------------------------------------------------------------------
# formatting


def _num(v: float | int | None) -> str:
    if v is None:
        return "—"
    if isinstance(v, int):
        return str(v)
    a = abs(v)
    if a >= 1000:
        return f"{v:,.0f}"
    if a >= 100:
        return f"{v:.0f}"
    if a >= 10:
        return f"{v:.1f}"
    if a >= 1:
        return f"{v:.2f}"
    if a >= 0.01 or a == 0:
        return f"{v:.3f}"
    return f"{v:.2g}"


def _cell(res: dict | None) -> str:
    if res is None:
        return "—"
    if "error" in res:
        return "error"
    if "skipped" in res:
        return "skipped"
    return _num(res.get("value"))


def _value(res: dict | None):
    if res and "value" in res and "error" not in res and "skipped" not in res:
        return res["value"]
    return None


def _ratio(w, nb, lg) -> float | None:
    if not w.ratio or nb is None or lg is None:
        return None
    if nb <= 0:
        return float("inf") if lg > 0 else None
    return lg / nb


def _target_text(w) -> str:
    kind, x = w.target
    if kind == "ratio":
        return f"nbflow ≥{x}x lower"
    if kind == "below":
        return f"nbflow < {_num(x)} {w.unit}"
    if kind == "equal":
        return f"nbflow = {x}"
    return str(x)


def _met(w, nb, ratio) -> str:
    kind, x = w.target
    if nb is None:
        return "—"
    if kind == "ratio":
        return "—" if ratio is None else ("yes" if ratio >= x else "no")
    if kind == "below":
        return "yes" if nb < x else "no"
    if kind == "equal":
        return "yes" if nb == x else "no"
    return "—"


def _bare_cells(w, res: dict | None) -> list[str]:
    """nbflow's figure over the bare limit measured in the same worker (bare.py), its target, met."""
    x = (res or {}).get("x_bare")
    if w.bare_target is None or x is None:
        return ["—", "—" if w.bare_target is None else f"≤{w.bare_target}x", "—"]
    return [f"{x:.2f}x", f"≤{w.bare_target}x", "yes" if x <= w.bare_target else "no"]


def _table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(r[i]) for r in [header] + rows) for i in range(len(header))]
    right = {2, 3, 4, 7}

    def line(r):
        return "  ".join(c.rjust(widths[i]) if i in right else c.ljust(widths[i]) for i, c in enumerate(r)).rstrip()

    sep = "  ".join("-" * w for w in widths)
    return "\n".join([line(header), sep] + [line(r) for r in rows])


def _details(res: dict | None) -> str:
    if not res:
        return ""
    if "error" in res:
        return res["error"]
    if "skipped" in res:
        return res["skipped"]
    keys = [k for k in res if k not in ("value", "examples", "traceback")]
    parts = [f"{k}={_num(res[k]) if isinstance(res[k], (int, float)) else res[k]}" for k in keys]
    if res.get("examples"):
        parts.append(f"first failures={res['examples']}")
    return ", ".join(parts)


# --------------------------------------------------------------------------
# main


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--only", choices=workloads.LIBRARIES, help="run one library only")
    p.add_argument("--quick", action="store_true", help="smaller repeat counts")
    p.add_argument("--json", metavar="PATH", help="also write every figure to PATH as JSON")
    p.add_argument(
        "--workload",
        action="append",
        choices=list(workloads.BY_KEY),
        metavar="NAME",
        help="run only this workload (repeatable): " + ", ".join(workloads.BY_KEY),
    )
    p.add_argument("--timeout", type=float, default=900, help="seconds per workload and library (default 900)")
    p.add_argument("--list", action="store_true", help="list the workloads and exit")
    p.add_argument("--worker", choices=workloads.LIBRARIES, help=argparse.SUPPRESS)
    p.add_argument("--out", help=argparse.SUPPRESS)
    a = p.parse_args(argv)

    if a.worker:
        key = a.workload[0] if a.workload else None
        return _worker(a.worker, key, a.quick, a.out)

    if a.list:
        for w in workloads.WORKLOADS:
            print(f"{w.key:16} {w.title} [{w.unit}]  target: {_target_text(w)}")
        return 0

    wanted = [a.only] if a.only else list(workloads.LIBRARIES)
    selected = [workloads.BY_KEY[k] for k in a.workload] if a.workload else workloads.WORKLOADS

    print(f"python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} cores"
          f"{' (quick)' if a.quick else ''}", flush=True)
    libs, versions, notes = [], {}, []
    for name in wanted:
        probe = _spawn(name, None, False, 300)
        if "import_error" in probe or "version" not in probe:
            why = probe.get("import_error") or probe.get("result", {}).get("error", "?")
            hint = " (install it with: make bench, or pip install -e '.[bench]')" if name == "langgraph" else ""
            notes.append(f"{name} is not available: {why}{hint}")
            print(f"{name}: not available: {why}", flush=True)
        else:
            libs.append(name)
            versions[name] = probe["version"]
            print(f"{name} {probe['version']}", flush=True)
    if not libs:
        print("no library to benchmark", file=sys.stderr)
        return 1
    if a.only and a.only not in libs:
        return 1
    if "langgraph" in wanted and "langgraph" not in libs:
        print("LangGraph is not installed: showing nbflow's figures alone.", flush=True)

    results: dict[str, dict[str, dict]] = {name: {} for name in libs}
    for w in selected:
        for name in libs:
            print(f"  {name:9} {w.key:16} ...", end="", flush=True)
            rec = _spawn(name, w.key, a.quick, a.timeout)
            res = rec.get("result") or {"error": rec.get("import_error", "no result")}
            results[name][w.key] = res
            shown = _cell(res)
            extra = "" if shown not in ("error", "skipped") else f" ({(res.get('error') or res.get('skipped'))[:160]})"
            print(f" {shown} {w.unit if shown not in ('error', 'skipped') else ''}"
                  f"  [{rec.get('elapsed_s', 0):.1f} s]{extra}", flush=True)

    header = ["workload", "unit", "nbflow", "langgraph", "ratio lg/nb", "target", "met", "nb/bare", "target", "met"]
    rows, summary = [], []
    for w in selected:
        nb_res = results.get("nbflow", {}).get(w.key)
        lg_res = results.get("langgraph", {}).get(w.key)
        nb, lg = _value(nb_res), _value(lg_res)
        ratio = _ratio(w, nb, lg)
        ratio_s = "—" if ratio is None else ("inf" if ratio == float("inf") else f"{ratio:.1f}x")
        rows.append([
            w.title,
            w.unit,
            _cell(nb_res) if "nbflow" in libs else "n/a",
            _cell(lg_res) if "langgraph" in libs else "n/a",
            ratio_s,
            _target_text(w),
            _met(w, nb, ratio),
            *_bare_cells(w, nb_res),
        ])
        summary.append({
            "workload": w.key,
            "title": w.title,
            "unit": w.unit,
            "target": list(w.target),
            "nbflow": nb_res,
            "langgraph": lg_res,
            "ratio_langgraph_over_nbflow": ratio,
            "met": _met(w, nb, ratio),
            "bare_target": w.bare_target,
            "nbflow_over_bare": (nb_res or {}).get("x_bare"),
            "bare_met": _bare_cells(w, nb_res)[2],
        })

    print()
    print(_table(rows, header))
    print("ratio lg/nb = langgraph's figure / nbflow's: how many times lower nbflow's is (higher is better).")
    print("nb/bare = nbflow's figure / the bare limit's (bench/bare.py: a ThreadPoolExecutor, one raw SQLite WAL "
          "insert, one PostgreSQL commit), measured in the same worker (lower is better).")
    print()
    print("details:")
    for w in selected:
        for name in libs:
            res = results[name].get(w.key)
            print(f"  {w.key} [{name}]: {_details(res)}")
            if res and res.get("traceback"):
                tb = res["traceback"].rstrip().splitlines()[-8:]
                print("\n".join("      " + t for t in tb))
    for n in notes:
        print(f"note: {n}")

    if a.json:
        doc = {
            "python": platform.python_version(),
            "machine": platform.machine(),
            "cpus": os.cpu_count(),
            "quick": a.quick,
            "versions": versions,
            "notes": notes,
            "workloads": summary,
        }
        with open(a.json, "w") as f:
            json.dump(doc, f, indent=2, default=repr)
        print(f"wrote {a.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
