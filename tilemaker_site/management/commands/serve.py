"""``serve``: serve the maps, catalogues and boxes in the configured database with daphne."""

import argparse

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connections

from maps.models import Layer
from tilemaker_site import server
from tilemaker_site.management.commands.open import add_server_arguments

# Without Redis each worker has its own in-memory channel layer: a save
# handled by one worker is announced only to sockets held by that worker.
NO_REDIS_WARNING = (
    "Warning: {workers} workers without TILEMAKER_REDIS_URL: live events (ws/events) reach "
    "only the viewers connected to the worker that made the change; set TILEMAKER_REDIS_URL "
    "(e.g. redis://127.0.0.1:6379/0) so that every viewer hears them"
)


class Command(BaseCommand):
    help = (
        "Serve the configured database (fill it with import_config, or set "
        "TILEMAKER_CONFIG_PATH). --workers N runs N daphne processes on one port."
    )

    def add_arguments(self, parser):
        add_server_arguments(parser)
        parser.add_argument(
            "--workers",
            type=int,
            default=1,
            help="daphne processes sharing the port (default 1); use memcached to share the cache",
        )
        parser.add_argument(
            "--proxy-headers",
            action="store_true",
            help="trust X-Forwarded-For/-Port/-Proto from a reverse proxy such as nginx",
        )
        # Set by ``serve --workers N`` for its worker processes only.
        parser.add_argument("--fd", type=int, help=argparse.SUPPRESS)
        parser.add_argument("--ready-fd", type=int, help=argparse.SUPPRESS)

    def handle(self, *args, port, host, workers, proxy_headers, fd, ready_fd, **options):
        verbosity = options["verbosity"]
        if workers < 1:
            raise CommandError(f"--workers {workers}: expected 1 or more")
        try:
            if fd is not None:
                self._serve_worker(fd, ready_fd, proxy_headers=proxy_headers, verbosity=verbosity)
                return
            listener = server.listen(host, port)
            try:
                self._prepare_database()
                connections.close_all()
                if workers == 1:
                    server.serve(
                        listener,
                        precache=settings.PRECACHE,
                        access_log=verbosity >= 2,
                        proxy_headers=proxy_headers,
                    )
                    return
                if not settings.REDIS_URL:
                    server.console(NO_REDIS_WARNING.format(workers=workers))
                worker_args = ["--verbosity", str(verbosity)]
                if proxy_headers:
                    worker_args.append("--proxy-headers")
                code = server.serve_workers(listener, workers=workers, worker_args=worker_args)
            finally:
                listener.close()
        except server.ServerStartError as error:
            raise CommandError(str(error)) from None
        except KeyboardInterrupt:
            server.console("Stopped.")
            return
        if code:
            raise CommandError("a worker stopped unexpectedly (see above)")

    def _prepare_database(self) -> None:
        count = server.pending_migrations()
        if count:
            server.console(f"Applying {count} database migration(s) ...")
            call_command("migrate", verbosity=0, interactive=False)
        if settings.CONFIG_PATH:
            from maps.importers import ConfigError, import_config

            try:
                report = import_config(settings.CONFIG_PATH)
            except ConfigError as error:
                raise server.ServerStartError(
                    "TILEMAKER_CONFIG_PATH: " + "; ".join(error.problems)
                ) from None
            server.console(report.summary())
            for warning in report.warnings:
                server.console(warning)
        layers = Layer.objects.count()
        if layers == 0:
            server.console(
                "The database holds no layers yet: add some with `tilemaker import_config FILE`"
            )
        else:
            server.console(f"Serving {layers} layer{'s' * (layers != 1)} from the database")

    def _serve_worker(self, fd, ready_fd, *, proxy_headers: bool, verbosity: int) -> None:
        server.serve(
            server.adopt_listener(fd),
            precache=settings.PRECACHE,
            access_log=verbosity >= 2,
            proxy_headers=proxy_headers,
            announce=False,
            stop_if_orphaned=True,
            on_ready=None if ready_fd is None else lambda: server.signal_ready(ready_fd),
        )
