"""The digest's unsubscribe link (the digest itself is messaging's: messaging/digests.py)."""

from django.core import signing

from ..models import User

SALT = "digest-unsubscribe"


def unsubscribe_token(user: User) -> str:
    return signing.dumps({"u": user.pk}, salt=SALT)


def user_for_unsubscribe_token(token: str) -> User | None:
    try:
        user_id = signing.loads(token, salt=SALT)["u"]
    except (signing.BadSignature, KeyError, TypeError):
        return None
    return User.objects.filter(pk=user_id, is_active=True).first()
