"""The runtime engine: runs, task calls, the run scope, and the sync/async outcome abstraction.

``scope`` (what code is running: ContextVar, task futures, ``interrupt()``
and friends, idle-timeout progress) → ``outcome`` (the only sync/async fork,
with retry and timeout) / ``plugs`` (executors and clock a run uses) /
``running`` (invocations in progress, for ``Workflow.stop``) / ``journaling``
(when journal rows reach the saver: ``durability``) → ``steps`` (one task call)
→ ``prepare`` (what an invocation is) / ``nested`` (an entrypoint called inside a run) →
``run`` (one invocation).
"""
