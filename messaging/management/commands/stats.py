import json
from dataclasses import asdict

from django.core.management.base import BaseCommand
from django.template.defaultfilters import filesizeformat

from messaging.stats import site_stats


class Command(BaseCommand):
    help = "Print the site's figures: people, active people, chats, messages per day, storage used."

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=14, help="days of messages per day to show (default 14)")
        parser.add_argument("--active-days", type=int, default=30,
                            help="a person seen within this many days counts as active (default 30)")
        parser.add_argument("--json", action="store_true", help="print JSON, for scripts and monitoring")

    def handle(self, *args, days, active_days, json: bool, **options):
        stats = site_stats(days=max(days, 1), active_days=max(active_days, 1))
        if json:
            self.stdout.write(self._json(stats))
            return
        write = self.stdout.write
        write(f"People:           {stats.people} ({stats.active_people} active in the last {stats.active_days} days)")
        write("Chats:            " + ", ".join(f"{count} {kind}" for kind, count in stats.conversations.items()))
        write(f"Messages:         {stats.messages}")
        write(f"Storage used:     {filesizeformat(stats.storage_bytes)}")
        write("")
        write(f"{'Day':<12}{'Messages':>10}{'Senders':>10}")
        for day in stats.days:
            write(f"{day.day.isoformat():<12}{day.messages:>10}{day.active_people:>10}")

    @staticmethod
    def _json(stats) -> str:
        data = asdict(stats)
        data["days"] = [{**day, "day": day["day"].isoformat()} for day in data["days"]]
        return json.dumps(data, indent=2)
