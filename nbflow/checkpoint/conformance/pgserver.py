"""A throwaway PostgreSQL server for tests, benchmarks and the scaling simulation.

:class:`TempPostgres` runs Debian's own binaries (package ``postgresql``,
under ``/usr/lib/postgresql/<version>/bin``) on a fresh cluster in a temporary
directory: ``initdb`` then ``pg_ctl start`` listening on ``127.0.0.1`` at a free
port (and on a unix socket in the same directory), trust authentication for
the local user ``postgres``. PostgreSQL refuses to run as root, so when this
process is root the directory is handed to the ``postgres`` system user and
the server runs as that user, as Debian's cluster tools do. ``stop()`` shuts
the server down (``-m fast``) and removes the directory. A watchdog process
does the same if this process dies first (a kernel killed with ``kill -9``), so
no server outlives its owner.

Nothing is mocked: it is the real server with its default durability settings
(``fsync=on``, ``synchronous_commit=on``), so a commit the server acknowledged
survives any client being killed.

    with TempPostgres() as pg:
        print(pg.uri)  # postgresql://postgres@127.0.0.1:PORT/postgres

``find_bindir()`` returns ``None`` when no server is installed, with
:data:`MISSING_HINT` saying how to install one; callers decide whether that is
a skip or a failure.
"""

from __future__ import annotations

import atexit
import glob
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any

try:
    from ...errors import PostgresUnavailable
except ImportError:  # loaded from its file by bench/workloads.py, outside the package
    PostgresUnavailable = RuntimeError  # type: ignore[misc,assignment]

__all__ = ["TempPostgres", "PostgresUnavailable", "find_bindir", "MISSING_HINT"]

MISSING_HINT = (
    "no PostgreSQL server binaries found (looked for $NBFLOW_PG_BINDIR and "
    "/usr/lib/postgresql/*/bin/postgres); install Debian's server with "
    "`apt-get install -y postgresql`"
)


def find_bindir() -> str | None:
    """The directory holding ``initdb``/``pg_ctl``/``postgres``, newest version first."""
    env = os.environ.get("NBFLOW_PG_BINDIR")
    candidates = [env] if env else []

    def version(path: str) -> tuple:
        part = path.rstrip("/").split("/")[-2]
        return tuple(int(x) if x.isdigit() else 0 for x in part.split("."))

    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=version, reverse=True)
    for d in candidates:
        if d and all(os.access(os.path.join(d, exe), os.X_OK) for exe in ("initdb", "pg_ctl", "postgres")):
            return d
    return None


# Runs beside the server: when its stdin closes (the owner stopped it, or died), it stops the
# server at once and removes its directory. argv: pg_ctl, data dir, root dir, uid, gid (-1: as is).
_WATCHDOG = '''
import os, shutil, subprocess, sys
pg_ctl, data, root, uid, gid = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
sys.stdin.buffer.read()
as_user = {"user": uid, "group": gid, "extra_groups": []} if uid >= 0 else {}
subprocess.run([pg_ctl, "-D", data, "-m", "immediate", "-w", "stop"], cwd=root,
               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **as_user)
shutil.rmtree(root, ignore_errors=True)
'''


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class TempPostgres:
    """A PostgreSQL cluster in a temporary directory (see the module docstring).

    ``settings`` are extra ``-c name=value`` server settings (e.g.
    ``{"max_connections": "300"}``).
    """

    settings: dict[str, str] = field(default_factory=dict)
    bindir: str | None = None
    port: int = 0
    root: str = ""
    _run_as: dict[str, Any] = field(default_factory=dict, repr=False)
    _env: dict[str, str] = field(default_factory=dict, repr=False)
    _started: bool = field(default=False, repr=False)
    _watchdog: Any = field(default=None, repr=False)
    _opts: str = field(default="", repr=False)

    @property
    def uri(self) -> str:
        return self.uri_for("postgres")

    def uri_for(self, dbname: str, **params: str) -> str:
        """A libpq URI for database ``dbname`` on this server (``params`` become the query string)."""
        from urllib.parse import quote, urlencode

        query = f"?{urlencode(params, quote_via=quote)}" if params else ""
        return f"postgresql://postgres@127.0.0.1:{self.port}/{quote(dbname)}{query}"

    @property
    def socket_dir(self) -> str:
        return os.path.join(self.root, "sock")

    @property
    def log_path(self) -> str:
        return os.path.join(self.root, "server.log")

    # -- lifecycle --------------------------------------------------------------

    def start(self, timeout: float = 60.0) -> TempPostgres:
        bindir = self.bindir or find_bindir()
        if bindir is None:
            raise PostgresUnavailable(MISSING_HINT)
        missing = [exe for exe in ("initdb", "pg_ctl", "postgres") if not os.access(os.path.join(bindir, exe), os.X_OK)]
        if missing:
            raise PostgresUnavailable(
                f"TempPostgres(bindir={bindir!r}): no executable {', '.join(missing)} there; pass the directory "
                "holding PostgreSQL's server binaries (e.g. /usr/lib/postgresql/<version>/bin) or leave bindir "
                "unset to find Debian's"
            )
        self.bindir = bindir
        self.root = tempfile.mkdtemp(prefix="nbflow-pg-")
        data = os.path.join(self.root, "data")
        os.makedirs(self.socket_dir)
        if os.geteuid() == 0:
            try:
                user = pwd.getpwnam("postgres")
            except KeyError:
                self._cleanup()
                raise PostgresUnavailable(
                    "running as root, and PostgreSQL refuses to run as root, but there is no "
                    "`postgres` system user to run it as (Debian's `postgresql` package creates it)"
                ) from None
            for path in (self.root, self.socket_dir):
                os.chown(path, user.pw_uid, user.pw_gid)
            self._run_as = {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}
            env = {**os.environ, "HOME": self.root, "USER": "postgres", "LOGNAME": "postgres"}
        else:
            env = dict(os.environ)
        env.pop("PGDATA", None)
        self._env = env
        try:
            self._call(
                [os.path.join(bindir, "initdb"), "-D", data, "-U", "postgres", "--auth=trust",
                 "-E", "UTF8", "--locale=C", "--no-sync"],
                timeout=timeout,
                what="initdb",
            )
            last_error = ""
            for _ in range(5):  # a port picked as free may be taken before the server binds it
                self.port = _free_port()
                opts = [f"-p {self.port}", f"-k {self.socket_dir}", "-c listen_addresses=127.0.0.1"]
                opts += [f"-c {k}={v}" for k, v in self.settings.items()]
                self._opts = " ".join(opts)
                try:
                    self._call(
                        [os.path.join(bindir, "pg_ctl"), "-D", data, "-l", self.log_path, "-w",
                         "-t", str(int(timeout)), "-o", " ".join(opts), "start"],
                        timeout=timeout + 10,
                        what="pg_ctl start",
                    )
                    self._started = True
                    atexit.register(self.stop)  # never leave a server behind, even if stop() is forgotten
                    self._start_watchdog(os.path.join(bindir, "pg_ctl"), data)
                    return self
                except PostgresUnavailable as exc:
                    last_error = str(exc)
                    if "already in use" not in self._log_tail():
                        break
            raise PostgresUnavailable(f"{last_error}\nserver log:\n{self._log_tail()}")
        except BaseException:
            self._cleanup()
            raise

    def stop(self) -> None:
        """Stop the server (fast shutdown) and remove its directory; idempotent."""
        atexit.unregister(self.stop)
        if self._watchdog is not None:
            self._watchdog.kill()  # this stop does its work
            self._watchdog.wait()
            self._watchdog = None
        if self._started:
            self._started = False
            try:
                self._call(
                    [os.path.join(self.bindir or "", "pg_ctl"), "-D", os.path.join(self.root, "data"),
                     "-m", "fast", "-w", "stop"],
                    timeout=60,
                    what="pg_ctl stop",
                )
            except PostgresUnavailable:
                self._call(
                    [os.path.join(self.bindir or "", "pg_ctl"), "-D", os.path.join(self.root, "data"),
                     "-m", "immediate", "-w", "stop"],
                    timeout=60,
                    what="pg_ctl stop",
                    check=False,
                )
        self._cleanup()

    # -- faults (tests/faults/): the same cluster, port and data, down and up again --------

    def shutdown(self, mode: str = "fast", timeout: float = 60.0) -> None:
        """Stop the server (``pg_ctl stop -m fast|smart|immediate``), keeping its data: :meth:`start_again`."""
        self._call([os.path.join(self.bindir or "", "pg_ctl"), "-D", os.path.join(self.root, "data"),
                    "-m", mode, "-w", "-t", str(int(timeout)), "stop"], timeout=timeout + 10, what="pg_ctl stop")

    def start_again(self, timeout: float = 60.0) -> None:
        """Start the server stopped by :meth:`shutdown` on the same port (crash recovery after ``immediate``)."""
        self._call([os.path.join(self.bindir or "", "pg_ctl"), "-D", os.path.join(self.root, "data"),
                    "-l", self.log_path, "-w", "-t", str(int(timeout)), "-o", self._opts, "start"],
                   timeout=timeout + 10, what="pg_ctl start")

    def restart(self, mode: str = "fast", timeout: float = 60.0) -> None:
        """:meth:`shutdown` then :meth:`start_again`: every client connection is cut."""
        self.shutdown(mode, timeout)
        self.start_again(timeout)

    def __enter__(self) -> TempPostgres:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- helpers ----------------------------------------------------------------

    def _start_watchdog(self, pg_ctl: str, data: str) -> None:
        uid, gid = (self._run_as["user"], self._run_as["group"]) if self._run_as else (-1, -1)
        self._watchdog = subprocess.Popen(
            [sys.executable, "-c", _WATCHDOG, pg_ctl, data, self.root, str(uid), str(gid)],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            env=self._env, start_new_session=True,  # outlives a kill of the owner's process group
        )

    def _call(self, argv: list[str], *, timeout: float, what: str, check: bool = True) -> None:
        try:
            proc = self._spawn(argv, timeout)
        except OSError as exc:
            raise PostgresUnavailable(f"{what} could not be run ({argv[0]}): {exc}") from exc
        except subprocess.TimeoutExpired as exc:
            raise PostgresUnavailable(f"{what} did not finish within {timeout:.0f} s") from exc
        if check and proc.returncode != 0:
            raise PostgresUnavailable(f"{what} failed (exit {proc.returncode}): {proc.stdout.strip()[-2000:]}")

    def _spawn(self, argv: list[str], timeout: float) -> subprocess.CompletedProcess:
        return subprocess.run(
            argv,
            cwd=self.root,
            env=self._env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=timeout,
            **self._run_as,
        )

    def _log_tail(self) -> str:
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()[-2000:]
        except OSError:
            return ""

    def _cleanup(self) -> None:
        if self.root and os.path.isdir(self.root):
            shutil.rmtree(self.root, ignore_errors=True)


def wait_ready(uri: str, timeout: float = 30.0) -> None:
    """Block until ``uri`` accepts a connection (used after a restart)."""
    import psycopg

    deadline = time.monotonic() + timeout
    while True:
        try:
            psycopg.connect(uri, connect_timeout=2).close()
            return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
