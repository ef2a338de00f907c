from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand

from messaging.uploads import delete_unclaimed_uploads


class Command(BaseCommand):
    help = ("Remove uploads that no message claimed within the grace period, with their files and thumbnails "
            "(schedule it, e.g. hourly).")

    def add_arguments(self, parser):
        parser.add_argument("--older-than-minutes", type=int, default=settings.UPLOAD_GRACE_MINUTES,
                            help="only uploads at least this old (default: UPLOAD_GRACE_MINUTES)")
        parser.add_argument("--dry-run", action="store_true", help="list what would be removed; remove nothing")

    def handle(self, *args, older_than_minutes, dry_run, **options):
        removed = delete_unclaimed_uploads(older_than=timedelta(minutes=older_than_minutes), dry_run=dry_run)
        for attachment in removed:
            self.stdout.write(f"{attachment.pk}\t{attachment.size}\t{attachment.file.name}")
        verb = "Would remove" if dry_run else "Removed"
        self.stdout.write(f"{verb} {len(removed)} unclaimed upload{'s' if len(removed) != 1 else ''}.")
