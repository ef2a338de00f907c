"""Shared fixtures and factories for every app's tests."""

import itertools

import pytest
from allauth.account.models import EmailAddress
from django.core.cache import cache

from accounts.models import User

PASSWORD = "correct horse battery 42"
_counter = itertools.count(1)


@pytest.fixture(autouse=True)
def _clean_cache():
    # Rate limits and presence live in the cache: every test starts from nothing.
    cache.clear()
    yield
    cache.clear()


def make_user(username: str | None = None, *, password: str = PASSWORD, verified: bool = True, **extra) -> User:
    """A user who can sign in: primary email address recorded with allauth, verified by default."""
    n = next(_counter)
    username = username or f"user{n}"
    email = extra.pop("email", f"{username}@example.com")
    user = User.objects.create_user(
        username=username,
        email=email,
        password=password,
        first_name=extra.pop("first_name", username.capitalize()),
        last_name=extra.pop("last_name", "Tester"),
        **extra,
    )
    EmailAddress.objects.create(user=user, email=email, primary=True, verified=verified)
    return user


@pytest.fixture
def user_factory(db):
    return make_user


@pytest.fixture
def alice(db):
    return make_user("alice", first_name="Alice", last_name="Archer")


@pytest.fixture
def bob(db):
    return make_user("bob", first_name="Bob", last_name="Baker")


@pytest.fixture
def alice_client(client, alice):
    client.force_login(alice)
    return client
