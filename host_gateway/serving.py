"""``ssn-gateway serve``: one gateway process, or N of them sharing one listening socket.

Every gateway process is whole (its own database connections, verifier pool and HTTP server);
what they share is the database, whose locks make them safe together: ingest is serialized by a
transaction lock, counters are single statements, and a record held once is answered as held
(docs/scaling.md). The socket is bound before the processes fork, so the kernel spreads the
connections over them and a process that dies takes no port with it. Each process opens the
database only after the fork (a connection must never cross a fork)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sys
from collections.abc import Callable

from host_gateway.api.server import ServerOptions
from host_gateway.gateway import Gateway

GatewayOpener = Callable[[], Gateway]


def serve(
    open_gateway: GatewayOpener,
    host: str,
    port: int,
    processes: int,
    options: ServerOptions | None = None,
) -> int:
    """Serve until SIGTERM or SIGINT; the exit status is nonzero when a process failed.
    ``options``: client limits and TLS (host_gateway.api.server)."""
    options = options or ServerOptions()
    if processes <= 1:
        _run_one(open_gateway, None, host, port, options)
        return 0
    listener = socket.create_server((host, port), backlog=2048, reuse_port=False)
    listener.set_inheritable(True)
    children = [_fork(open_gateway, listener, host, port, options) for _ in range(processes)]
    listener.close()
    return _supervise(children)


def _fork(
    open_gateway: GatewayOpener,
    listener: socket.socket,
    host: str,
    port: int,
    options: ServerOptions,
) -> int:
    pid = os.fork()
    if pid:
        return pid
    status = 0
    try:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        _run_one(open_gateway, listener, host, port, options)
    except BaseException as exc:  # a child must never return into the parent's code
        print(f"gateway process {os.getpid()} failed: {exc}", file=sys.stderr)
        status = 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)


def _run_one(
    open_gateway: GatewayOpener,
    listener: socket.socket | None,
    host: str,
    port: int,
    options: ServerOptions,
) -> None:
    import uvicorn

    from host_gateway.api.app import create_app
    from host_gateway.api.server import uvicorn_config
    from host_gateway.web.app import mount_console

    gateway = open_gateway()
    try:
        gateway.pool.start()
        app = create_app(gateway, options.limits)
        mount_console(app, gateway.factory, gateway.clock, gateway.keys)
        server = uvicorn.Server(uvicorn_config(app, host, port, options))
        server.run(sockets=None if listener is None else [listener])
    finally:
        gateway.close()


def _supervise(children: list[int]) -> int:
    """Wait for the processes; on a signal, or when one ends, end the others (a supervisor
    such as systemd restarts the whole service: half a gateway is not left running)."""
    stopping = False

    def stop(signum: int, _: object) -> None:
        nonlocal stopping
        stopping = True
        _signal_all(children, signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    status = 0
    running = set(children)
    while running:
        try:
            pid, code = os.wait()
        except ChildProcessError:
            break
        except InterruptedError:
            continue
        if pid not in running:
            continue
        running.discard(pid)
        if not stopping:
            status = 1
            stopping = True
            print(f"gateway process {pid} ended (status {code}); stopping", file=sys.stderr)
            _signal_all(list(running), signal.SIGTERM)
    return status


def _signal_all(pids: list[int], signum: int) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signum)
