from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand

from messaging.digests import send_digests


class Command(BaseCommand):
    help = "Email a digest of unread messages to people who have been away a while (schedule it, e.g. hourly)."

    def add_arguments(self, parser):
        parser.add_argument("--away-minutes", type=int, default=settings.DIGEST_AFTER_MINUTES,
                            help="only people offline for at least this long (default: DIGEST_AFTER_MINUTES)")

    def handle(self, *args, away_minutes, **options):
        sent = send_digests(away_for=timedelta(minutes=away_minutes))
        self.stdout.write(f"Sent {sent} digest email{'s' if sent != 1 else ''}.")
