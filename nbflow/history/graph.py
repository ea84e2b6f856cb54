"""A picture of a functional workflow, pure: Mermaid text from recorded task history.

LangGraph cannot draw a Functional-API workflow because its graph only exists
while it runs. nbflow records every task execution, so the invocation that
actually happened can be drawn: tasks whose run times overlap are drawn as a
parallel fan-out / fan-in, sub-tasks hang off the task that called them, and
interrupts appear as hexagons with their answer when there is one.
"""

from __future__ import annotations

import math
from typing import Any

from ..serde import summarize
from ..types import Invocation, TaskRecord

_OUTCOME = {"ok": "", "cached": " ⟲ cached", "error": " ✗ error", "interrupted": " ⏸ waiting"}


def _label(text: str) -> str:
    text = text.replace('"', "'").replace("\n", " ")
    for ch in "<>{}[]()|`":
        text = text.replace(ch, " ")
    return " ".join(text.split())


def _waves(tasks: list[TaskRecord]) -> list[list[TaskRecord]]:
    """Group sibling tasks into waves: calls made before the caller waited on any of them
    run in parallel (a fan-out); the next wait ends the wave (the fan-in)."""
    waves: dict[int, list[TaskRecord]] = {}
    for t in sorted(tasks, key=lambda t: t.position):
        waves.setdefault(t.wave, []).append(t)
    return [waves[k] for k in sorted(waves)]


def _asker(intr: Any, by_path: dict[str, str], tasks: list[TaskRecord]) -> str | None:
    """The node of the task call that asked ``intr`` (by its call position); None when the body asked it."""
    path = getattr(intr, "path", "")
    if not path:
        return None
    return by_path.get(path) or next((by_path[t.path] for t in tasks if t.name == intr.task), None)


def mermaid_for(inv: Invocation, name: str) -> str:
    """Mermaid ``flowchart`` text for one invocation of workflow ``name``."""
    lines = ["flowchart TD", f'    start(["{_label(name)} · input: {_label(summarize(inv.input, 40))}"])']
    # A position can have several records (interrupted, then resumed): draw its last one.
    latest: dict[str, TaskRecord] = {}
    resumed: set[str] = set()
    for t in inv.tasks:
        if t.outcome == "replayed":  # the same execution served again: keep the original
            continue
        if t.path in latest and latest[t.path].outcome == "interrupted":
            resumed.add(t.path)
        latest[t.path] = t
    tasks = sorted(latest.values(), key=lambda t: t.position)
    top = [t for t in tasks if "." not in t.path]
    nested = [t for t in tasks if "." in t.path]
    by_path: dict[str, str] = {}
    for i, t in enumerate(tasks):
        nid = by_path[t.path] = f"t{i}"
        dur = f" · {t.duration:.2f}s" if t.duration is not None else ""
        note = " ⏵ resumed" if t.path in resumed and t.outcome == "ok" else _OUTCOME.get(t.outcome, "")
        lines.append(f'    {nid}["{_label(t.name)}{dur}{note}"]')
    # The top-level story in call order: waves of tasks, and the questions the entrypoint itself asked,
    # each placed after the tasks the body had called when it asked (Interrupt.after; at the end if unknown).
    steps: list[tuple[float, int, list[str]]] = []
    for wave in _waves(top):
        steps.append((min(t.position[0] for t in wave), 1, [by_path[t.path] for t in wave]))
    asked: list[str] = []
    for k, intr in enumerate(inv.asked):
        nid = f"i{k}"
        text = f"ask: {summarize(intr.value, 40)}"
        text += f" → {summarize(inv.answers[intr.id], 30)}" if intr.id in inv.answers else " · waiting"
        asked.append(f'    {nid}{{{{"{_label(text)}"}}}}')
        source = _asker(intr, by_path, tasks)
        if source is not None:  # asked from inside a task: hangs off that very call
            asked.append(f"    {source} -.- {nid}")
        else:  # asked by the entrypoint itself: where it happened in the body
            after = getattr(intr, "after", None)
            steps.append((math.inf if after is None else after - 0.5, 0, [nid]))
    prev = ["start"]
    for _, _, here in sorted(steps, key=lambda s: (s[0], s[1])):
        for a in prev:
            for b in here:
                lines.append(f"    {a} --> {b}")
        prev = here
    for t in nested:
        parent = by_path.get(t.path.rsplit(".", 1)[0])
        if parent:
            lines.append(f"    {parent} -.-> {by_path[t.path]}")
    lines.extend(asked)
    end = {"done": f"return: {summarize(inv.value, 40)}", "interrupted": "paused",
           "error": f"error: {inv.error or ''}", "running": "running", "update": "state updated"}
    lines.append(f'    finish(["{_label(end.get(inv.status, inv.status))}"])')
    for a in prev:
        lines.append(f"    {a} --> finish")
    return "\n".join(lines) + "\n"
