"""Run leases: who runs a thread's invocation, and whether that process is still alive (pure + one keeper thread).

A top-level run with a thread, on a saver other processes can read (SQLite,
PostgreSQL: ``saver.leases_shared``), records a :class:`Lease` when it starts:
its owner (process id, host, a label such as the Jupyter kernel id, a run id)
and the time. A keeper thread (one per process) renews the lease of every run
still going every :data:`RENEW_EVERY` seconds; a run that ends simply stops
being renewed (the lease is only consulted for an invocation that never
finished, so it is not deleted). An in-memory saver is readable by this process
only: its runs are known from the engine's own registry and need no lease.

:func:`verdict` turns what a reader sees -- an unfinished invocation and the
thread's lease -- into one of:

* ``"here"``      the run is going on in this process;
* ``"elsewhere"`` another process runs it: its lease was renewed within
  :data:`EXPIRES_AFTER` seconds (and, on this host, that process exists);
* ``"gone"``      it stopped without finishing: its process is gone (this
  host: no such process), or its lease was not renewed for
  :data:`EXPIRES_AFTER` seconds, or it has no lease at all; ``invoke(None,
  config)`` continues it.

A run whose process renews its lease is never called gone: the keeper renews
every :data:`RENEW_EVERY` seconds, twelve times within :data:`EXPIRES_AFTER`.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
import uuid
import weakref
from dataclasses import dataclass
from typing import Any

RENEW_EVERY = 5.0        # seconds between renewals of a running invocation's lease
EXPIRES_AFTER = 60.0     # a lease not renewed for this long (another host) means its process is gone

log = logging.getLogger("nbflow.leases")
HOST = socket.gethostname()
_label = ""


@dataclass(frozen=True, slots=True)
class Lease:
    """A thread's lease as stored: ``owner`` is JSON ``{pid, host, label, run, started}``."""

    thread_id: str
    checkpoint_ns: str
    owner: str
    renewed_at: float

    def who(self) -> dict:
        try:
            data = json.loads(self.owner)
        except ValueError:
            return {}
        return data if isinstance(data, dict) else {}


def set_label(label: str) -> None:
    """What this process is called in leases it writes (the notebook layer sets ``kernel <id>``)."""
    global _label
    _label = str(label)


def owner_here(run_id: str, started: float) -> str:
    return json.dumps({"pid": os.getpid(), "host": HOST, "label": _label, "run": run_id, "started": started},
                      sort_keys=True)


def new_lease(thread_id: str, checkpoint_ns: str) -> Lease:
    """The lease of a run of this process starting now."""
    started = time.time()
    return Lease(thread_id, checkpoint_ns, owner_here(uuid.uuid4().hex, started), started)


def describe(who: dict) -> str:
    """``process 123 on host h (kernel 1a2b)``."""
    text = f"process {who.get('pid', '?')} on host {who.get('host', '?')}"
    return text + (f" ({who['label']})" if who.get("label") else "")


def _process_exists(pid: Any) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    except OSError:
        return False
    return True


def verdict(lease: Lease | None, now: float, running_here: bool) -> tuple[str, dict]:
    """``(state, owner)`` for an unfinished invocation (see the module docstring)."""
    if running_here:
        return "here", json.loads(owner_here("", 0.0))
    if lease is None:
        return "gone", {}
    who = lease.who()
    fresh = now - lease.renewed_at < EXPIRES_AFTER
    if who.get("host") == HOST:
        if who.get("pid") == os.getpid():
            return "gone", who  # this very process, and no run of it is going: it ended without finishing
        return ("elsewhere" if fresh and _process_exists(who.get("pid")) else "gone"), who
    return ("elsewhere" if fresh else "gone"), who


def liveness_of(saver: Any, thread_id: str, invocation: Any, here: bool) -> dict:
    """``{state, owner, since}`` of an unfinished ``invocation`` (an :class:`~nbflow.types.Invocation`) of
    ``thread_id``: :func:`verdict` on the saver's lease; ``since`` is its last sign of life (the lease's
    last renewal or its last finished task, whichever is later). A lease that cannot be read is never
    taken for a dead run (``elsewhere``, owner unknown)."""
    try:
        lease = saver.get_lease(thread_id, invocation.checkpoint_ns)
        if lease is None and not here:  # a run that has just begun writes its lease right after its input
            lease = saver.get_lease(thread_id, invocation.checkpoint_ns)
    except Exception:
        log.warning("nbflow: reading the lease of thread %s failed", thread_id, exc_info=True)
        return {"state": "elsewhere", "owner": "an unknown process (its lease could not be read)", "since": None}
    state, who = verdict(lease, time.time(), here)
    seen = [invocation.started_at, *(t.ended_at for t in invocation.tasks if t.ended_at is not None)]
    if lease is not None:
        seen.append(lease.renewed_at)
    return {"state": state, "owner": describe(who) if who else "", "since": max(seen)}


class Keeper:
    """Writes the lease of each run as it starts and renews the leases of the runs still going."""

    def __init__(self) -> None:
        self._held: weakref.WeakKeyDictionary[Any, tuple[Any, str, str, str, float]] = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._wake = threading.Event()

    def hold(self, run: Any, saver: Any, thread_id: str, checkpoint_ns: str, written: Lease | None = None) -> None:
        """``run`` started: write its lease now (a failure is logged, never raised: a lease is advisory),
        unless it was ``written`` already (with the run's input checkpoint: :func:`new_lease`); then renew it."""
        if written is not None:
            owner, started = written.owner, written.renewed_at
        else:
            lease = new_lease(str(thread_id), checkpoint_ns)
            owner, started = lease.owner, lease.renewed_at
            try:
                saver.put_lease(lease)
            except Exception:
                log.warning("nbflow: could not record the lease of thread %s", thread_id, exc_info=True)
        with self._lock:
            self._held[run] = (saver, str(thread_id), checkpoint_ns, owner, started)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name="nbflow-leases", daemon=True)
                self._thread.start()

    def release(self, run: Any) -> None:
        with self._lock:
            self._held.pop(run, None)

    def _loop(self) -> None:
        while True:
            self._wake.wait(RENEW_EVERY)
            with self._lock:
                held = list(self._held.values())
            now = time.time()
            for saver, thread_id, ns, owner, _started in held:
                try:
                    saver.put_lease(Lease(thread_id, ns, owner, now))
                except Exception:
                    log.debug("nbflow: renewing the lease of thread %s failed", thread_id, exc_info=True)


KEEPER = Keeper()

__all__ = ["EXPIRES_AFTER", "HOST", "KEEPER", "Keeper", "Lease", "RENEW_EVERY", "describe", "liveness_of", "new_lease",
           "owner_here", "set_label", "verdict"]
