"""The runtime engine: runs, task calls, the run scope, and the sync/async outcome abstraction.

``scope`` (what code is running: ContextVar, task futures, ``interrupt()``
and friends) → ``outcome`` (the only sync/async fork) → ``plugs`` (executors
and clock a run uses) → ``steps`` (one task call) → ``run`` (one invocation).
"""
