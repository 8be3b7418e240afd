"""Child processes of a bench run: start one, learn its port, and be sure it ends.

Each server runs in its own session (so a Ctrl-C in the terminal reaches only the harness, which
then stops them in order) and also watches its parent, so even a harness killed with SIGKILL
leaves nothing listening. Logs go to files, so a child never blocks on a full pipe.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import json
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

__all__ = [
    "Child",
    "Children",
    "announce",
    "arm_parent_death_signal",
    "exit_with_parent",
    "listening_socket",
    "raise_on_stop_signals",
]

_READY_TIMEOUT = 30.0
_PR_SET_PDEATHSIG = 1
_STOP_TIMEOUT = 5.0
_ROOT = Path(__file__).resolve().parent.parent


class _Stoppable(Protocol):
    should_exit: bool


def announce(info: dict[str, Any]) -> None:
    """The one line a server child prints: how the harness reaches it."""
    sys.stdout.write(json.dumps({"pid": os.getpid(), **info}) + "\n")
    sys.stdout.flush()


def listening_socket() -> socket.socket:
    """A loopback socket on a free port, already listening, for uvicorn to serve on.

    Binding here (not in uvicorn) lets the child announce its port before it serves; connections
    queue in the backlog meanwhile. The protocol must be IPPROTO_TCP explicitly: asyncio sets
    TCP_NODELAY only on sockets whose `proto` says TCP, and without it every keep-alive answer
    waits ~40 ms for a delayed ACK (Nagle), which would swamp every figure the bench reports.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(1024)
    return sock


@functools.cache
def _libc() -> Any:
    return ctypes.CDLL(None, use_errno=True)


def arm_parent_death_signal() -> bool:
    """Asks the kernel to SIGTERM this process when its parent dies (Linux; False elsewhere).

    Safe as a `preexec_fn`: libc is loaded before the fork (see `Children.program`), and the
    setting survives exec, so it also covers programs that are not Python (redis-server).
    """
    try:
        return bool(_libc().prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) == 0)
    except (OSError, AttributeError):
        return False


def exit_with_parent(server: _Stoppable | None = None, interval: float = 0.5) -> None:
    """Stops this process once the process that started it is gone, even by SIGKILL.

    On Linux the kernel does it (PR_SET_PDEATHSIG sends SIGTERM, which uvicorn handles as a
    graceful stop, in a worker as in a supervisor), so nothing polls inside the measured
    process; elsewhere a thread watches, then stops `server`, or sends SIGTERM to this process.
    """
    parent = os.getppid()
    if arm_parent_death_signal():
        if os.getppid() != parent:  # the parent died before the signal was armed
            os.kill(os.getpid(), signal.SIGTERM)
        return

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(interval)
        if server is None:
            os.kill(os.getpid(), signal.SIGTERM)
        else:
            server.should_exit = True

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def raise_on_stop_signals() -> None:
    """SIGTERM becomes SystemExit and SIGINT KeyboardInterrupt, so `finally` blocks stop every
    child. SIGINT is set explicitly: a shell starting the harness in the background leaves it
    ignored, and Python keeps an inherited "ignore"."""

    def handler(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, signal.default_int_handler)


@dataclass
class Child:
    name: str
    process: subprocess.Popen[bytes]
    log: Path
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def port(self) -> int:
        return int(self.info["port"])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        """SIGTERM (uvicorn's graceful stop; a supervisor stops its workers), then SIGKILL.

        The SIGKILL goes to the child's whole process group: it was started in a session of
        its own, so the group is exactly it and the workers it spawned. It is sent before the
        child is reaped, so the group id cannot have been reused.
        """
        if self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(_STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except OSError:
                self.process.kill()
            self.process.wait(_STOP_TIMEOUT)


class Children:
    """Every process a run started; `close` stops them all, newest first."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self._children: list[Child] = []

    def command(self, name: str, argv: Sequence[str]) -> subprocess.Popen[bytes]:
        """Starts a process whose output goes to its log file (a load generator, wrk), which
        the kernel stops if the harness dies."""
        return self.program(name, argv, stop_with_parent=True).process

    def program(
        self,
        name: str,
        argv: Sequence[str],
        info: dict[str, Any] | None = None,
        *,
        stop_with_parent: bool = False,
        env: Mapping[str, str] | None = None,
    ) -> Child:
        """Like `command`, returning the Child; `stop_with_parent` arms PR_SET_PDEATHSIG before
        exec, for a program that cannot watch its parent itself (redis-server); `env` replaces
        the environment (Node's NODE_ENV)."""
        log = self.log_dir / f"{name}.log"
        if stop_with_parent:
            _libc()  # loaded here, not between fork and exec
        with log.open("ab") as out:
            process = subprocess.Popen(
                list(argv),
                cwd=_ROOT,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=arm_parent_death_signal if stop_with_parent else None,
                env=None if env is None else dict(env),
            )
        child = Child(name, process, log, dict(info or {}))
        self._children.append(child)
        return child

    def server(self, name: str, module: str, args: Sequence[str]) -> Child:
        """Starts `python -m module`, waits for its announcement line, and returns it."""
        log = self.log_dir / f"{name}.log"
        with log.open("ab") as err:
            process = subprocess.Popen(
                [sys.executable, "-m", module, *args],
                cwd=_ROOT,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=err,
                start_new_session=True,
            )
        child = Child(name, process, log)
        self._children.append(child)
        child.info = self._await_announcement(child)
        return child

    @staticmethod
    def _await_announcement(child: Child) -> dict[str, Any]:
        stdout = child.process.stdout
        assert stdout is not None
        ready, _, _ = select.select([stdout], [], [], _READY_TIMEOUT)
        line = stdout.readline() if ready else b""
        if not line:
            raise RuntimeError(f"{child.name} did not start:\n{child.log_tail()}")
        info: dict[str, Any] = json.loads(line)
        return info

    def close(self) -> None:
        while self._children:
            child = self._children.pop()
            with contextlib.suppress(Exception):
                child.stop()
            if child.process.stdout is not None:
                child.process.stdout.close()

    def __enter__(self) -> Children:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@contextlib.contextmanager
def children(log_dir: Path) -> Iterator[Children]:
    group = Children(log_dir)
    try:
        yield group
    finally:
        group.close()
