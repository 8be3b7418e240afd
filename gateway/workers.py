"""`serve --workers N`: each worker listens on a socket of its own, and the kernel spreads
connections over them.

uvicorn's supervisor binds one socket and hands it to every worker; whichever worker wakes
first accepts every connection waiting. Keep-alive clients (a frontend's pool, a load
balancer) open their connections at once, so one worker could take them all and serve every
request while the others idled: in `bench.peer`, one of two workers often served 100%.
`WorkerSockets`, pickled to a worker as uvicorn starts it, binds a socket there with
`SO_REUSEPORT`; Linux then assigns each new connection to one of the workers' sockets by a hash
of its addresses.

Before any worker starts, the supervisor binds the address once without `SO_REUSEPORT` and
closes it again: a port some other process listens on (another gateway, say) fails the start
with uvicorn's error rather than silently sharing that process's traffic.
"""

from __future__ import annotations

import logging
import socket
import sys
from typing import Any

import uvicorn
from uvicorn.config import STARTUP_FAILURE

__all__ = ["WorkerSockets", "worker_sockets"]

logger = logging.getLogger("uvicorn.error")


class WorkerSockets(list[socket.socket]):
    """The listening sockets of one worker, bound in the worker that unpickles them."""

    def __init__(self, host: str, port: int, sockets: tuple[socket.socket, ...] = ()) -> None:
        super().__init__(sockets)
        self.host = host
        self.port = port

    def __reduce__(self) -> tuple[Any, ...]:
        return (bound, (self.host, self.port))


def bound(host: str, port: int) -> WorkerSockets:
    """A socket on `host:port` that other workers' sockets share (`SO_REUSEPORT`); uvicorn
    calls `listen` on it as it starts serving. A worker that cannot bind exits as uvicorn's
    workers do when they cannot start (STARTUP_FAILURE), so the supervisor stops rather than
    starting it again and again."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family=family)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        logger.error("cannot listen on %s:%d: %s", host, port, error.strerror or error)
        sys.exit(STARTUP_FAILURE)
    sock.set_inheritable(True)
    return WorkerSockets(host, port, (sock,))


def worker_sockets(config: uvicorn.Config) -> list[socket.socket]:
    """What `Multiprocess` hands each worker: a socket per worker where the system can share
    a port between them (and the port is fixed), else uvicorn's one shared socket."""
    if not hasattr(socket, "SO_REUSEPORT") or config.port == 0 or config.uds or config.fd:
        return [config.bind_socket()]
    config.bind_socket().close()  # the port is free: uvicorn's own check and message
    return WorkerSockets(config.host, config.port)
