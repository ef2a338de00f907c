"""A few people, friendships, groups and a history, so a newcomer sees a living site.

Everything goes through the services the site uses (sign-up's verified address aside), so the
demo data obeys every rule real data does: contact policy, seq numbers, unread counts, events.
"""

import secrets

from allauth.account.models import EmailAddress
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from tqdm import tqdm

from accounts.models import User
from accounts.services.friends import respond_to_friend_request, send_friend_request
from groups.services import create_group
from messaging.services import get_or_create_direct_conversation, mark_read, send_message

PEOPLE = [
    ("alice", "Alice", "Martin"), ("bob", "Bob", "Okafor"), ("chloe", "Chloé", "Dubois"),
    ("dev", "Dev", "Patel"), ("emma", "Emma", "Schmidt"), ("farid", "Farid", "Haddad"),
]
FRIENDS = [("alice", "bob"), ("alice", "chloe"), ("alice", "dev"), ("bob", "chloe"), ("dev", "emma"),
           ("emma", "farid"), ("chloe", "farid")]
DIRECT = {
    ("alice", "bob"): [
        ("bob", "Hey Alice! Are we still on for Saturday?"),
        ("alice", "Yes! 10 am at the market, then coffee?"),
        ("bob", "Perfect. I'll bring the **tote bags** this time 😄"),
        ("alice", "You'd better. See you there"),
    ],
    ("alice", "chloe"): [
        ("chloe", "Did you see the photos from the trip?"),
        ("alice", "Not yet, send them over!"),
        ("chloe", "Here is the album: https://example.com/album"),
    ],
    ("dev", "emma"): [
        ("dev", "Can you review my pull request today?"),
        ("emma", "Sure, after lunch. Is it the one about caching?"),
        ("dev", "That one. Thanks!"),
    ],
}
GROUPS = [
    ("Weekend hikers", "Trails, weather and who brings the snacks.", "alice", ["bob", "chloe", "dev"], [
        ("alice", "Who's in for the ridge trail on Sunday?"),
        ("bob", "Me! What time?"),
        ("chloe", "Count me in. Forecast says sunny ☀️"),
        ("dev", "I can drive two people"),
        ("alice", "Great, 8 am at the station. @dev thanks for the lift!"),
    ]),
    ("Book club", "One book a month. No spoilers before the meeting.", "emma", ["farid", "chloe", "dev"], [
        ("emma", "This month: *The Left Hand of Darkness*."),
        ("farid", "Finally! I've wanted to read it for years."),
        ("chloe", "Halfway through, loving it so far"),
        ("emma", "Meeting on the 20th, my place."),
    ]),
]


class Command(BaseCommand):
    help = ("Create demo people, friendships, chats and groups so a new site looks lived in. "
            "Never run automatically; refuses on a database that already has people unless --force.")

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true",
                            help="seed even though the database already has people (demo usernames must be free)")
        parser.add_argument("--password", default="",
                            help="the demo people's password (default: a random one, printed at the end)")

    def handle(self, *args, force, password, **options):
        if User.objects.exists() and not force:
            raise CommandError("The database already has people: seed_demo adds demo data only to an empty site. "
                               "Use --force to add it anyway.")
        taken = sorted(User.objects.filter(username__in=[name for name, *_ in PEOPLE])
                       .values_list("username", flat=True))
        if taken:
            raise CommandError(f"Demo usernames already exist: {', '.join(taken)}. Nothing was changed.")
        password = password or secrets.token_urlsafe(9)
        steps = len(PEOPLE) + len(FRIENDS) + len(DIRECT) + len(GROUPS)
        with transaction.atomic(), tqdm(total=steps, desc="Seeding", unit="step", file=self.stderr) as progress:
            people = {}
            for username, first, last in PEOPLE:
                people[username] = self._person(username, first, last, password)
                progress.update()
            for one, other in FRIENDS:
                request = send_friend_request(user=people[one], to_id=people[other].pk)
                respond_to_friend_request(user=people[other], request_id=request.pk, accept=True)
                progress.update()
            for (one, other), lines in DIRECT.items():
                conversation = get_or_create_direct_conversation(user=people[one], other_id=people[other].pk)
                self._history(conversation.pk, lines, people)
                progress.update()
            for title, description, owner, members, lines in GROUPS:
                group = create_group(user=people[owner], title=title, description=description,
                                     member_ids=[people[name].pk for name in members])
                self._history(group.pk, lines, people)
                progress.update()
        self.stdout.write(self.style.SUCCESS(f"Seeded {len(PEOPLE)} people, {len(FRIENDS)} friendships, "
                                             f"{len(DIRECT)} chats and {len(GROUPS)} groups."))
        self.stdout.write(f"Sign in as any of {', '.join(f'{name}@example.com' for name, *_ in PEOPLE)} "
                          f"with the password {password}")

    def _person(self, username, first, last, password) -> User:
        email = f"{username}@example.com"
        person = User.objects.create_user(username=username, email=email, password=password,
                                          first_name=first, last_name=last)
        EmailAddress.objects.create(user=person, email=email, verified=True, primary=True)
        return person

    def _history(self, conversation_id, lines, people) -> None:
        for number, (sender, body) in enumerate(lines):
            result = send_message(user=people[sender], conversation_id=conversation_id, body=body,
                                  client_id=f"seed-{conversation_id}-{number}")
            # The sender has read up to their own message; the last line stays unread for the others.
            mark_read(user=people[sender], conversation_id=conversation_id, seq=result.message.seq)
