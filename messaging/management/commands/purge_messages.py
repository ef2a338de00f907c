from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.template.defaultfilters import filesizeformat
from tqdm import tqdm

from messaging.models import Conversation, Message
from messaging.retention import purge_messages


class Command(BaseCommand):
    help = ("Retention: delete for good every message older than --older-than DAYS (in one chat with "
            "--conversation), with its files. --dry-run says what would go and deletes nothing.")

    def add_arguments(self, parser):
        parser.add_argument("--older-than", type=int, required=True, metavar="DAYS",
                            help="delete messages sent more than DAYS days ago (at least 1)")
        parser.add_argument("--conversation", type=int, metavar="ID", help="only in this conversation")
        parser.add_argument("--dry-run", action="store_true", help="count what would be deleted; delete nothing")

    def handle(self, *args, older_than, conversation, dry_run, **options):
        if older_than < 1:
            raise CommandError("--older-than must be at least 1 day.")
        if conversation is not None and not Conversation.objects.filter(pk=conversation).exists():
            raise CommandError(f"There is no conversation {conversation}.")
        age = timedelta(days=older_than)
        if dry_run:
            found = purge_messages(older_than=age, conversation_id=conversation, dry_run=True)
            self.stdout.write(f"Would delete {found.messages} messages and {found.files} files "
                              f"({filesizeformat(found.bytes)}). Nothing was deleted (--dry-run).")
            return
        planned = purge_messages(older_than=age, conversation_id=conversation, dry_run=True).messages
        with tqdm(total=planned, desc="Deleting", unit="message", file=self.stderr) as progress:
            done = purge_messages(older_than=age, conversation_id=conversation, on_batch=progress.update)
        self.stdout.write(self.style.SUCCESS(f"Deleted {done.messages} messages and {done.files} files "
                                             f"({filesizeformat(done.bytes)}). {Message.objects.count()} messages remain."))
