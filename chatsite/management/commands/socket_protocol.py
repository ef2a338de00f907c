"""Write docs/socket-protocol.md from the protocol (chatsite.protocol_docs)."""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from chatsite.protocol_docs import render

DEFAULT = Path(settings.BASE_DIR) / "docs" / "socket-protocol.md"


class Command(BaseCommand):
    help = "Write the socket protocol's documentation (docs/socket-protocol.md) from the event schema and the frame router."

    def add_arguments(self, parser):
        parser.add_argument("--output", default=str(DEFAULT), help="where to write it (- for the standard output)")
        parser.add_argument("--check", action="store_true", help="only say whether the file is up to date (exit 1 if not)")

    def handle(self, *args, output, check, **options):
        text = render()
        if output == "-":
            self.stdout.write(text, ending="")
            return
        path = Path(output)
        if check:
            if not path.exists() or path.read_text() != text:
                raise CommandError(f"{path} is stale: run manage.py socket_protocol")
            self.stdout.write(f"{path} is up to date.")
            return
        path.write_text(text)
        self.stdout.write(f"Wrote {path}.")
