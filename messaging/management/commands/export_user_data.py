from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q
from django.utils import timezone

from accounts.models import User
from messaging.export import export_user_data


class Command(BaseCommand):
    help = ("Write a zip of everything of one person (profile, friends, chats, the messages and files "
            "they sent) for a data-access request. USER is a username, an email address or an id.")

    def add_arguments(self, parser):
        parser.add_argument("user", metavar="USER")
        parser.add_argument("--output", type=Path, help="the zip to write (default: var/exports/USERNAME-DATE.zip)")

    def handle(self, *args, user, output, **options):
        query = Q(username=user) | Q(email__iexact=user) | Q(emailaddress__email__iexact=user)
        if user.isdigit():
            query |= Q(pk=int(user))
        people = list(User.objects.filter(query).distinct()[:2])
        if len(people) != 1:
            raise CommandError(f"No one is {user!r}." if not people else f"More than one person matches {user!r}: "
                               "give the username.")
        person = people[0]
        now = timezone.now()
        output = output or settings.VAR_DIR / "exports" / f"{person.username}-{now:%Y%m%d-%H%M%S}.zip"
        path = export_user_data(person, output, site=settings.SITE_NAME, when=now.isoformat(timespec="seconds"))
        self.stdout.write(self.style.SUCCESS(f"Wrote {path} ({path.stat().st_size} bytes)."))
