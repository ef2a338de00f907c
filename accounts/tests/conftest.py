"""Fixtures of the account tests (the shared factories are in the project's conftest.py)."""

import pytest


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
