"""``dev``: the viewer on generated sample data, in a temporary folder removed on exit."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from maps import local_server
from maps.demo_data import write_demo_data
from maps.management.commands.open import add_server_arguments, require_ephemeral_dir


class Command(BaseCommand):
    help = (
        "Serve a generated sample map (I/Q/U), source catalogue and highlight box, "
        "all in a temporary folder removed on exit."
    )

    def add_arguments(self, parser):
        add_server_arguments(parser)

    def handle(self, *args, port, host, **options):
        folder = require_ephemeral_dir()
        try:
            listener = local_server.listen(host, port)
            try:
                local_server.prepare_ephemeral_database()
                demo = write_demo_data(folder / "demo")
                local_server.console(f"Sample data written to {demo.map_path.parent}")
                local_server.import_files(
                    [str(demo.map_path)], [str(demo.catalog_path)], boxes=demo.boxes
                )
                local_server.allow_any_host_when_exposed(host)
                local_server.serve(listener, precache=settings.PRECACHE)
            finally:
                listener.close()
        except local_server.ServerStartError as error:
            raise CommandError(str(error)) from None
        except KeyboardInterrupt:
            local_server.console("Stopped.")
