"""bench/compare.py: two bench runs' JSON files side by side (pure)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _compare_module():
    spec = importlib.util.spec_from_file_location("bench_compare", ROOT / "bench" / "compare.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _run(workloads: list[dict]) -> dict:
    return {w["workload"]: w for w in workloads}


def test_changes_are_named_better_worse_or_equal(tmp_path, capsys):
    compare = _compare_module()
    old = _run([
        {"workload": "chain_memory", "unit": "µs/task", "nbflow": {"value": 10.0}, "ratio_langgraph_over_nbflow": 30.0},
        {"workload": "fanout_memory", "unit": "µs/task", "nbflow": {"value": 10.0}, "ratio_langgraph_over_nbflow": 20},
        {"workload": "invoke_memory", "unit": "µs", "nbflow": {"value": 40.0}, "ratio_langgraph_over_nbflow": None},
        {"workload": "gone", "unit": "µs", "nbflow": {"value": 1.0}},
    ])
    new = _run([
        {"workload": "chain_memory", "unit": "µs/task", "nbflow": {"value": 8.0}, "ratio_langgraph_over_nbflow": 37.5},
        {"workload": "fanout_memory", "unit": "µs/task", "nbflow": {"value": 12.0}, "ratio_langgraph_over_nbflow": 16},
        {"workload": "invoke_memory", "unit": "µs", "nbflow": {"value": 41.0}, "ratio_langgraph_over_nbflow": None},
        {"workload": "new_one", "unit": "µs", "nbflow": {"error": "boom"}},
    ])
    rows = compare.compare(old, new)
    assert [r[0] for r in rows] == ["chain_memory", "fanout_memory", "invoke_memory"]
    assert rows[0][4] == "20% better" and rows[1][4] == "+20% worse" and rows[2][4] == "="
    assert rows[0][5:] == ["30.0x", "37.5x"] and rows[2][5:] == ["—", "—"]
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_text(json.dumps({"workloads": list(old.values())}))
    b.write_text(json.dumps({"workloads": list(new.values())}))
    assert compare.main([str(a), str(b)]) == 0
    out = capsys.readouterr().out
    assert "chain_memory" in out and "20% better" in out and "gone" not in out
