from django.core.management.base import BaseCommand

from calls.services import expire_all_active, sweep_calls


class Command(BaseCommand):
    help = ("Time out calls that rang too long (missed) and drop participants whose page is gone "
            "(schedule it every few seconds, or let the task queue's periodic job run it). "
            "--all, at a start with nobody connected, ends every call left ringing or ongoing.")

    def add_arguments(self, parser):
        parser.add_argument("--all", action="store_true", help="end every active call (a server start)")

    def handle(self, *args, all, **options):
        if all:
            self.stdout.write(f"Ended {expire_all_active()} call(s).")
            return
        result = sweep_calls()
        self.stdout.write(f"Missed {result['missed']} call(s), dropped {result['dropped']} participant(s).")
