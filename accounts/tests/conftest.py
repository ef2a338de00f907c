"""Fixtures of the account tests (the shared factories are in the project's conftest.py)."""

import pytest

from conftest import make_user


@pytest.fixture
def media(settings, tmp_path):
    """Uploaded files go to a fresh folder for each test (filesystem storage, whatever the environment)."""
    root = tmp_path / "media"
    root.mkdir()
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(root)}},
    }
    return root


# People of the social tests: who is friends with, blocks or invites whom.
@pytest.fixture
def ana(db):
    return make_user("ana", first_name="Ana", last_name="Lima")


@pytest.fixture
def bo(db):
    return make_user("bo", first_name="Bo", last_name="Berg")


@pytest.fixture
def eve(db):
    return make_user("eve", first_name="Eve", last_name="Moss")


@pytest.fixture
def cy(db):
    return make_user("cy", first_name="Cy", last_name="Park")
