"""The admin's dashboard: the site's figures and two charts drawn as SVG on the server (no chart
library, nothing loaded from elsewhere; readable without JavaScript and by a screen reader, since
each chart comes with its table)."""

from dataclasses import dataclass

from django.contrib import admin
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy

from .stats import site_stats

WIDTH, HEIGHT, GAP = 600, 160, 2


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str
    value: int


def bars(values: list[tuple[str, int]]) -> tuple[list[Bar], int]:
    """Bars for ``(label, value)`` pairs scaled to the chart, and the scale's top value."""
    top = max([value for _, value in values] + [1])
    width = WIDTH / max(len(values), 1)
    result = []
    for index, (label, value) in enumerate(values):
        height = HEIGHT * value / top
        result.append(Bar(x=round(index * width + GAP / 2, 1), y=round(HEIGHT - height, 1),
                          width=round(width - GAP, 1), height=round(height, 1), label=label, value=value))
    return result, top


def dashboard(request):
    """Served by the admin site (``admin.site.admin_view``): staff only."""
    asked = request.GET.get("days", "")
    days = min(max(int(asked), 7), 366) if asked.isdigit() else 30
    stats = site_stats(days=days)
    messages, messages_top = bars([(day.day.isoformat(), day.messages) for day in stats.days])
    people, people_top = bars([(day.day.isoformat(), day.active_people) for day in stats.days])
    return TemplateResponse(request, "admin/dashboard.html", {
        **admin.site.each_context(request), "title": gettext_lazy("Dashboard"), "stats": stats, "days": days, "width": WIDTH, "height": HEIGHT,
        "charts": [
            {"id": "messages", "title": gettext_lazy("Messages per day"), "bars": messages, "top": messages_top},
            {"id": "people", "title": gettext_lazy("People who sent a message, per day"), "bars": people, "top": people_top},
        ],
    })
