"""A thread's past: what ran, what it saved, and edits of it.

* :mod:`nbflow.history.snapshots` -- checkpoint records → LangGraph's ``StateSnapshot`` (pure; the engine uses it too);
* :mod:`nbflow.history.graph` -- an invocation as a Mermaid flowchart (pure);
* :mod:`nbflow.history.reads` -- ``get_state``, state and task history, invocations;
* :mod:`nbflow.history.edits` -- ``update_state``, ``fork``.

The modules sit at different heights of the layer contract (``.importlinter``): snapshots are below
the engine, reads and edits beside it. This package's ``__init__`` imports none of them.
"""
