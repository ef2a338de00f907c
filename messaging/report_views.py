"""Reporting a message or a person: a page with the reasons, then back where the person was."""

from django import forms
from django.contrib import messages as flash
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from accounts import selectors as account_selectors
from chatsite.errors import ServiceError
from chatsite.http import safe_redirect, service_errors

from . import moderation, selectors
from .models import Report


class ReportForm(forms.Form):
    reason = forms.ChoiceField(label=gettext_lazy("Why are you reporting this?"), choices=Report.Reason.choices,
                               widget=forms.RadioSelect)
    details = forms.CharField(label=gettext_lazy("Details"), required=False, max_length=moderation.DETAILS_MAX,
                              widget=forms.Textarea(attrs={"rows": 4}),
                              help_text=gettext_lazy("Optional, unless you chose “Something else”. "
                                                     "Only the moderators read it."))


def _report_page(request, *, template_context: dict, submit, back: str):
    form = ReportForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        try:
            submit(reason=request.POST.get("reason", ""), details=request.POST.get("details", ""))
        except ServiceError as error:
            form.is_valid()  # binds the typed values so the page shows them again
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            flash.success(request, _("Thank you. Your report was sent to the moderators, who will look at it."))
            return safe_redirect(request, back, reverse("home"))
    return render(request, "messaging/report.html", {**template_context, "form": form, "back": back},
                  status=400 if form.errors else 200)


@service_errors
@require_http_methods(["GET", "POST"])
def report_message(request, message_id: int):
    message = selectors.access_message(request.user, message_id)
    back = reverse("conversation", args=[message.conversation_id])
    return _report_page(request, back=back, template_context={"message": message},
                        submit=lambda **answer: moderation.report_message(user=request.user, message_id=message.pk,
                                                                          **answer))


@service_errors
@require_http_methods(["GET", "POST"])
def report_person(request, user_id: int):
    person = account_selectors.get_active_user(user_id)
    back = reverse("profile_detail", args=[person.pk])
    return _report_page(request, back=back, template_context={"person": person},
                        submit=lambda **answer: moderation.report_user(user=request.user, user_id=person.pk, **answer))
