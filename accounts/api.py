"""The API's people endpoints: the caller, profiles. Thin: services and selectors do the work."""

from django.urls import reverse
from ninja import Router, Schema

from chatsite.apikit import check_form, responses

from . import services
from .forms import ProfileForm

router = Router(tags=["me"])


class PersonOut(Schema):
    id: int
    username: str
    display_name: str
    about: str
    avatar_url: str | None


class MeOut(PersonOut):
    email: str
    first_name: str
    last_name: str


def person_out(person) -> dict:
    return {
        "id": person.pk, "username": person.username, "display_name": person.display_name,
        "about": person.about,
        "avatar_url": reverse("avatar", args=[person.pk]) if person.avatar else None,
    }


class ProfileIn(Schema):
    """Only the fields sent change."""
    first_name: str | None = None
    last_name: str | None = None
    username: str | None = None
    about: str | None = None


def me_out(user) -> dict:
    return {**person_out(user), "email": user.email, "first_name": user.first_name, "last_name": user.last_name}


@router.get("/me", response=responses(MeOut), summary="The signed-in person")
def me(request):
    return me_out(request.user)


@router.patch("/me", response=responses(MeOut), summary="Change my profile")
def update_me(request, changes: ProfileIn):
    user = request.user
    fields = ProfileForm.Meta.fields
    data = {name: getattr(user, name) for name in fields} | changes.dict(exclude_none=True)
    cleaned = check_form(ProfileForm(data, instance=user))
    try:
        services.update_profile(user=user, **{name: cleaned[name] for name in fields})
    finally:
        user.refresh_from_db()  # the form wrote its values onto the instance
    return me_out(user)
