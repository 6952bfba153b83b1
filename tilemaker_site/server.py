"""Serving TileMaker from this process with daphne: shared by ``open``, ``dev`` and ``serve``.

The listening socket is bound here, before anything slow happens, so a busy
port is reported at once; daphne then adopts the already-listening socket
(twisted's ``fd:`` endpoint), which leaves no window in which another
program could take the port, and lets ``serve --workers N`` hand one socket
to N daphne processes. The ready line is printed only once the reactor runs,
and the cache warm-up starts after it, so the first tile is never queued
behind the warm-up.
"""

import collections
import contextlib
import errno
import os
import selectors
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from django.db import DEFAULT_DB_ALIAS, connections

LISTEN_BACKLOG = 128
WILDCARD_HOSTS = ("0.0.0.0", "::", "")
WORKER_READY_TIMEOUT_SECONDS = 120.0
# A worker that dies is restarted, at most this many times within
# RESTART_WINDOW_SECONDS; one more death then stops the whole server.
WORKER_RESTARTS_PER_MINUTE = 5
RESTART_WINDOW_SECONDS = 60.0
SUPERVISE_POLL_SECONDS = 0.1
# Workers still running this long after SIGTERM are killed.
STOP_GRACE_SECONDS = 20.0
ORPHAN_CHECK_SECONDS = 1.0
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)

Log = Callable[[str], None]


class ServerStartError(RuntimeError):
    """The server cannot start; ``str()`` is a one-line reason naming what to change."""


def console(message: str) -> None:
    """Print a line at once, also when stdout is a pipe (tests, ``| tee``, systemd)."""
    # One write per line: print() writes the text and the newline separately,
    # so lines from the warm-up thread and the main thread could interleave.
    sys.stdout.write(f"{message}\n")
    sys.stdout.flush()


@dataclass(frozen=True)
class Listener:
    """A bound, listening TCP socket and the address it was asked for."""

    sock: socket.socket
    host: str
    port: int

    @property
    def url(self) -> str:
        shown = socket.gethostname() if self.host in WILDCARD_HOSTS else self.host
        if ":" in shown:
            shown = f"[{shown}]"
        return f"http://{shown}:{self.port}/"

    @property
    def is_ipv6(self) -> bool:
        return self.sock.family == socket.AF_INET6

    def close(self) -> None:
        self.sock.close()


def listen(host: str, port: int) -> Listener:
    """Bind and listen on ``host:port``, or raise ``ServerStartError`` saying what to change."""
    if not 0 <= port <= 65535:
        raise ServerStartError(f"--port {port}: expected 1 to 65535 (or 0 for any free port)")
    try:
        infos = socket.getaddrinfo(
            host or None, port, socket.AF_UNSPEC, socket.SOCK_STREAM, 0, socket.AI_PASSIVE
        )
    except socket.gaierror as error:
        raise ServerStartError(f"--host {host}: {error.strerror}") from None
    # "localhost" often resolves to ::1 first; IPv4 is what browsers and
    # ssh -L try first, and what the fd hand-over to daphne supports.
    infos.sort(key=lambda info: info[0] != socket.AF_INET)
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
        sock.listen(LISTEN_BACKLOG)
    except OSError as error:
        sock.close()
        if error.errno == errno.EADDRINUSE:
            raise ServerStartError(
                f"port {port} on {host} is already in use: choose another with --port, "
                f"e.g. --port {port + 1 if port < 65535 else 8001}"
            ) from None
        if error.errno == errno.EACCES:
            raise ServerStartError(
                f"port {port} needs administrator rights: choose one above 1023 with --port"
            ) from None
        raise ServerStartError(f"cannot listen on {host}:{port}: {error.strerror}") from None
    return Listener(sock=sock, host=host, port=sock.getsockname()[1])


def pending_migrations() -> int:
    """How many migrations the default database still lacks."""
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
    return len(executor.migration_plan(executor.loader.graph.leaf_nodes()))


def prepare_ephemeral_database() -> None:
    """Create every table in the (empty, temporary) default database.

    Tables are created straight from the models (``run_syncdb``; settings
    switch migrations off for ``open`` and ``dev``, see
    ``tilemaker_site.cli``): about 0.1 s instead of 1-2 s for replaying
    every migration, which matters for a command whose point is to be ready
    at once.
    """
    from django.core.management import call_command

    call_command("migrate", run_syncdb=True, verbosity=0, interactive=False)


def _layers(config: dict) -> list[dict]:
    return [
        layer
        for group in config.get("map_groups", [])
        for map_entry in group.get("maps", [])
        for band in map_entry.get("bands", [])
        for layer in band.get("layers", [])
    ]


def import_files(
    fits_paths: Sequence[str],
    catalog_paths: Sequence[str] = (),
    *,
    auto_contrast: bool = False,
    amend: Callable[[dict], None] | None = None,
    log: Log = console,
) -> int:
    """Scan the files as ``genconfig`` does and import the result; return the layer count.

    Files that cannot be used are reported one per line (name and reason)
    and left out; ``ServerStartError`` when not a single layer remains.
    ``amend`` may change the scanned config in place before it is imported.
    """
    from maps.importers import ConfigError, import_config_data
    from maps.scanning import config_for_files

    started = time.perf_counter()
    config, problems = config_for_files(
        list(fits_paths), list(catalog_paths), auto_contrast=auto_contrast
    )
    for problem in problems:
        log(f"Skipped {problem}")
    layers = _layers(config)
    if not layers:
        if not fits_paths:
            raise ServerStartError("no FITS map given (catalogues alone show nothing)")
        raise ServerStartError(f"none of the {len(fits_paths)} FITS file(s) could be opened")
    if amend is not None:
        amend(config)
    try:
        report = import_config_data(config, base_dir=Path.cwd(), source_name="command line")
    except ConfigError as error:
        raise ServerStartError("; ".join(error.problems)) from None
    for warning in report.warnings:
        log(warning)
    n_catalogs = len(config.get("source_groups", []))
    log(
        f"Opened {len(layers)} layer{'s' * (len(layers) != 1)}"
        + (f" and {n_catalogs} catalogue{'s' * (n_catalogs != 1)}" if n_catalogs else "")
        + f" in {time.perf_counter() - started:.1f} s"
    )
    return len(layers)


def _endpoint(listener: Listener) -> str:
    if listener.is_ipv6:
        # twisted's fd endpoint can only adopt IPv4 sockets: give the port back
        # and let daphne bind it again at once.
        address = listener.sock.getsockname()[0].replace(":", r"\:")
        listener.close()
        return f"tcp6:port={listener.port}:interface={address}"
    # twisted duplicates the descriptor and closes this one: detach it so the
    # socket object never closes a number that may by then belong to another file.
    return f"fd:fileno={listener.sock.detach()}"


def _warm_cache(log: Log) -> None:
    try:
        from maps.tiles import precache_all

        precache_all(log=log)
    except Exception as error:
        # The server keeps serving: tiles are then computed on first request.
        log(f"precache: stopped ({error})")
    finally:
        connections.close_all()


def serve(
    listener: Listener,
    *,
    precache: bool,
    log: Log = console,
    on_ready: Callable[[], None] | None = None,
    access_log: bool = False,
    proxy_headers: bool = False,
    announce: bool = True,
    stop_if_orphaned: bool = False,
) -> None:
    """Serve the ASGI application on ``listener`` until SIGINT, SIGTERM or SIGHUP.

    Prints the ready line (unless not ``announce``: workers leave that to
    their parent) once requests are being answered, then calls ``on_ready``
    and, when ``precache``, warms the cache in a background thread. Returns
    normally after a stop signal (or, with ``stop_if_orphaned``, once the
    parent process is gone); the caller cleans up.
    """
    from daphne.server import Server  # installs the asyncio reactor: import before twisted

    from tilemaker_site.asgi import application

    from daphne.access import AccessLogGenerator  # isort: skip
    from twisted.internet import reactor  # isort: skip

    from tilemaker_site import http_limits  # isort: skip

    # A 20 kB URL was dropped without an answer: answer 414 JSON instead.
    http_limits.install()

    stopped = threading.Event()

    def log_until_stopped(message: str) -> None:
        # The warm-up thread is not waited for: whatever it says after the
        # server stopped (typically that its files vanished) is noise.
        if not stopped.is_set():
            log(message)

    def ready() -> None:
        if announce:
            log(f"TileMaker ready: {listener.url}  (Ctrl-C to stop)")
        if on_ready is not None:
            on_ready()
        if precache:
            threading.Thread(
                target=_warm_cache, args=(log_until_stopped,), name="precache", daemon=True
            ).start()

    def stop(signum, frame) -> None:
        reactor.callFromThread(reactor.stop)

    parent_pid = os.getppid()

    def stop_if_parent_gone() -> None:
        # A worker whose parent was killed outright (SIGKILL, OOM) would
        # otherwise keep serving, unsupervised, on the shared port.
        if os.getppid() != parent_pid:
            reactor.stop()

    forwarded = (
        {
            "proxy_forwarded_address_header": "X-Forwarded-For",
            "proxy_forwarded_port_header": "X-Forwarded-Port",
            "proxy_forwarded_proto_header": "X-Forwarded-Proto",
        }
        if proxy_headers
        else {}
    )
    server = _flow_controlled(Server)(
        application,
        endpoints=[_endpoint(listener)],
        signal_handlers=False,
        action_logger=AccessLogGenerator(sys.stdout) if access_log else None,
        ready_callable=lambda: reactor.callWhenRunning(ready),
        verbosity=0,
        **forwarded,
    )
    if stop_if_orphaned:
        from twisted.internet.task import LoopingCall

        watch = LoopingCall(stop_if_parent_gone)
        reactor.callWhenRunning(watch.start, ORPHAN_CHECK_SECONDS, now=False)
    for signum in STOP_SIGNALS:
        signal.signal(signum, stop)
    try:
        server.run()
    finally:
        stopped.set()
        # Stopping already: a second Ctrl-C, or the SIGTERM that `timeout`
        # sends to the child and then to its whole process group, must not
        # interrupt the clean-up that follows.
        for signum in STOP_SIGNALS:
            signal.signal(signum, signal.SIG_IGN)
    if announce:
        log("Stopped.")


class _SendBufferGate:
    """A Twisted push producer that is open while its connection's send buffer has room.

    Twisted pauses it once more than 64 KiB (``FileDescriptor.bufferSize``)
    wait unsent for the client and resumes it when they have drained;
    ``stopProducing`` comes when the connection is lost.
    """

    def __init__(self) -> None:
        import asyncio

        self.open = asyncio.Event()
        self.open.set()

    def pauseProducing(self) -> None:
        self.open.clear()

    def resumeProducing(self) -> None:
        self.open.set()

    def stopProducing(self) -> None:
        self.open.set()


def _flow_controlled(server_class: type) -> type:
    """``daphne.server.Server`` whose ASGI ``send`` waits while the client is not reading.

    daphne hands every body chunk to Twisted at once, and Twisted keeps
    whatever the socket does not take: a client reading at a few KB/s made
    the process hold each whole answer (2 MB cut-outs, 100 MB catalogues)
    until it was read. Awaiting the gate after each chunk keeps at most the
    64 KiB buffer plus one chunk per connection, so a streamed answer costs
    what its producer holds, and a body is released (``response.close()``)
    only once the client has it or is gone.
    """

    class FlowControlledServer(server_class):
        async def handle_reply(self, protocol, message):
            if not message["type"].startswith("http."):
                # A websocket's protocol has no producer to gate: daphne's own path.
                await super().handle_reply(protocol, message)
                return
            body = message["type"] == "http.response.body"
            more_body = body and message.get("more_body", False)
            gated = isinstance(protocol.producer, _SendBufferGate)
            if body and not more_body and gated:
                if protocol.channel is None:  # connection lost: nothing to unregister from
                    protocol.producer = None
                else:
                    protocol.unregisterProducer()
            await super().handle_reply(protocol, message)
            starting = message["type"] == "http.response.start"
            if starting and protocol.channel is not None and protocol.producer is None:
                protocol.registerProducer(_SendBufferGate(), True)
            if more_body and isinstance(protocol.producer, _SendBufferGate):
                await protocol.producer.open.wait()

    return FlowControlledServer


def _project_root() -> Path:
    import tilemaker_site

    return Path(tilemaker_site.__file__).resolve().parent.parent


def serve_workers(
    listener: Listener,
    *,
    workers: int,
    worker_args: Sequence[str],
    log: Log = console,
) -> int:
    """Run ``workers`` daphne processes sharing ``listener``'s socket; return an exit code.

    Each worker is ``tilemaker serve --fd N`` (so it warms its own cache and
    serves in-process exactly as a single server does); the kernel spreads
    connections over the processes accepting on the shared socket. A stop
    signal is passed on to every worker. A worker that dies on its own is
    restarted while the others keep serving (``WorkerPool.supervise``: at
    most ``WORKER_RESTARTS_PER_MINUTE``, then everything stops with exit
    code 1 so that a supervisor such as docker or systemd sees the failure).
    """
    if listener.is_ipv6:
        raise ServerStartError("--workers above 1 needs an IPv4 --host (e.g. 0.0.0.0)")
    ready_read, ready_write = os.pipe()
    fd = listener.sock.fileno()
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(_project_root()), env.get("PYTHONPATH")]))
    command = [
        sys.executable,
        "-c",
        "from tilemaker_site.cli import main; main()",
        "serve",
        "--fd",
        str(fd),
        *worker_args,
    ]
    starting = True

    def start_worker(slot: int) -> subprocess.Popen:
        # The listening socket stays open here so that a restarted worker can
        # inherit it; only the first workers report readiness.
        if not starting:
            return subprocess.Popen(command, pass_fds=(fd,), env=env)
        return subprocess.Popen(
            [*command, "--ready-fd", str(ready_write)], pass_fds=(fd, ready_write), env=env
        )

    pool = WorkerPool(start_worker, log=log)
    for signum in STOP_SIGNALS:
        signal.signal(signum, pool.stop)
    failed = True
    try:
        pool.start(workers)
        starting = False
        os.close(ready_write)
        if pool.wait_ready(ready_read, workers=workers):
            log(f"TileMaker ready: {listener.url}  ({workers} workers, Ctrl-C to stop)")
            failed = pool.supervise()
        else:
            failed = not pool.stopping
            for child in pool.children:
                if child.poll() is not None and not pool.stopping:
                    log(f"Worker {child.pid} exited with code {child.returncode}: stopping")
    finally:
        os.close(ready_read)
        pool.shutdown()
        for signum in STOP_SIGNALS:
            signal.signal(signum, signal.SIG_IGN)
    log("Stopped.")
    return 1 if failed else 0


class WorkerPool:
    """Worker processes kept running, one per slot, until stopped; shared by
    ``serve --workers`` and the container's ``docker/run_workers.py``.

    ``start_worker(slot)`` starts the process of a slot. ``stop`` runs as a
    signal handler: it only sets a flag and sends signals, never takes a
    lock (a ``threading.Event`` there can deadlock when a second signal
    arrives while the first handler holds the Event's lock).
    """

    def __init__(
        self,
        start_worker: Callable[[int], subprocess.Popen],
        *,
        log: Log = console,
        restarts_per_minute: int = WORKER_RESTARTS_PER_MINUTE,
    ) -> None:
        self.children: list[subprocess.Popen] = []
        self.stopping = False
        self._start_worker = start_worker
        self._log = log
        self._restarts_per_minute = restarts_per_minute
        self._restart_times: collections.deque[float] = collections.deque()

    def start(self, count: int) -> None:
        for slot in range(count):
            self.children.append(self._start_worker(slot))

    def stop(self, signum=None, frame=None) -> None:
        self.stopping = True
        for child in self.children:
            if child.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(child.pid, signal.SIGTERM)

    def wait_ready(self, ready_read: int, *, workers: int) -> bool:
        """Wait for every worker's ready byte; False when stopped or a worker died first."""
        deadline = time.monotonic() + WORKER_READY_TIMEOUT_SECONDS
        ready = 0
        with selectors.DefaultSelector() as selector:
            selector.register(ready_read, selectors.EVENT_READ)
            while ready < workers:
                if self.stopping or any(child.poll() is not None for child in self.children):
                    return False
                if time.monotonic() > deadline:
                    raise ServerStartError(
                        f"workers not ready after {WORKER_READY_TIMEOUT_SECONDS:.0f} s"
                    )
                if selector.select(timeout=0.2):
                    chunk = os.read(ready_read, workers)
                    if not chunk:
                        return False
                    ready += len(chunk)
        return True

    def supervise(self) -> bool:
        """Restart workers that exit until stopped; True when the restart limit stopped all.

        A worker that keeps dying (a bad deployment, memory exhaustion on
        every request) would otherwise be restarted forever while hiding the
        failure; past the limit everything stops so that the operator, or
        the service manager above, sees it.
        """
        while not self.stopping:
            for slot, child in enumerate(self.children):
                if self.stopping:
                    break
                if child.poll() is None:
                    continue
                if not self._may_restart():
                    self._log(
                        f"Worker {child.pid} exited with code {child.returncode}: "
                        f"{self._restarts_per_minute} workers were already restarted in the "
                        "last minute, stopping (see the errors above)"
                    )
                    self.stop()
                    return True
                self._log(
                    f"Worker {child.pid} exited with code {child.returncode}: restarting it "
                    f"(restart {len(self._restart_times)} of at most "
                    f"{self._restarts_per_minute} a minute)"
                )
                self.children[slot] = self._start_worker(slot)
            time.sleep(SUPERVISE_POLL_SECONDS)
        return False

    def _may_restart(self) -> bool:
        now = time.monotonic()
        while self._restart_times and now - self._restart_times[0] >= RESTART_WINDOW_SECONDS:
            self._restart_times.popleft()
        if len(self._restart_times) >= self._restarts_per_minute:
            return False
        self._restart_times.append(now)
        return True

    def shutdown(self, also: Sequence[subprocess.Popen] = ()) -> None:
        """Stop every worker (and ``also``), killing any still running after the grace period."""
        self.stop()
        everyone = [*self.children, *also]
        for child in also:
            if child.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    child.terminate()
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for child in everyone:
            try:
                child.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()


def signal_ready(ready_fd: int) -> None:
    """Tell the parent of ``serve --workers`` that this worker is answering requests."""
    os.write(ready_fd, b"r")
    os.close(ready_fd)


def adopt_listener(fd: int) -> Listener:
    """The listening socket inherited from ``serve --workers`` as file descriptor ``fd``."""
    sock = socket.socket(fileno=fd)
    host, port = sock.getsockname()[:2]
    return Listener(sock=sock, host=host, port=port)
