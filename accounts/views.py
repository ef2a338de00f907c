from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from chatsite.files import serve_stored_file

from . import selectors, services
from .forms import DeleteAccountForm, ProfileForm


@login_required
def home(request):
    return render(request, "home.html")


@login_required
def profile_detail(request, user_id: int):
    person = selectors.get_active_user(user_id)
    return render(request, "accounts/profile_detail.html", {"person": person})


@login_required
def avatar(request, user_id: int):
    person = selectors.get_active_user(user_id)
    return serve_stored_file(person.avatar.name, content_type="image/png", max_age=300)


@login_required
@require_http_methods(["GET", "POST"])
def profile_edit(request):
    form = ProfileForm(request.POST or None, request.FILES or None, instance=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_profile(
                user=request.user,
                first_name=form.cleaned_data["first_name"],
                last_name=form.cleaned_data["last_name"],
                username=form.cleaned_data["username"],
                about=form.cleaned_data["about"],
                avatar=form.cleaned_data["avatar"] or None,
                clear_avatar=form.cleaned_data["avatar"] is False,
            )
        except ValidationError as error:
            form.add_error("avatar", error)
        else:
            messages.success(request, "Your profile was saved.")
            return redirect("profile_detail", request.user.pk)
    if form.errors:
        request.user.refresh_from_db()  # the form wrote invalid values onto the instance
    return render(request, "accounts/profile_edit.html", {"form": form}, status=400 if form.errors else 200)


@login_required
@require_http_methods(["GET", "POST"])
def account_delete(request):
    form = DeleteAccountForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        services.delete_account(user=request.user, request=request)
        messages.info(request, "Your account was deleted.")
        return redirect("account_login")
    return render(request, "accounts/account_delete.html", {"form": form}, status=400 if form.errors else 200)
