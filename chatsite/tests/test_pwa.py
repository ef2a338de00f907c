"""The installable web app: manifest, service worker, offline page (issue 17)."""

import json

import pytest
from django.contrib.staticfiles import finders
from django.test import Client
from django.urls import reverse
from PIL import Image


@pytest.fixture
def manifest(client):
    response = client.get(reverse("manifest"))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/manifest+json"
    return json.loads(response.content)


def _static_path(url: str) -> str:
    name = url.split("/static/", 1)[1]
    # The manifest storage hashes names; the finders know the source file.
    for candidate in (name, _unhashed(name)):
        found = finders.find(candidate)
        if found:
            return found
    raise AssertionError(f"{url} is not a static file")


def _unhashed(name: str) -> str:
    stem, _, ext = name.rpartition(".")
    base, _, maybe_hash = stem.rpartition(".")
    return f"{base}.{ext}" if base and len(maybe_hash) == 12 else name


def test_the_manifest_installs_the_site_under_its_name(db, manifest, settings):
    assert manifest["name"] == settings.SITE_NAME
    assert manifest["display"] == "standalone"
    assert manifest["start_url"] == "/" and manifest["scope"] == "/"
    assert manifest["theme_color"] and manifest["background_color"]


def test_the_manifest_icons_exist_at_the_sizes_browsers_ask_for(db, manifest):
    pngs = {(icon["sizes"], icon.get("purpose", "any")): icon for icon in manifest["icons"] if icon["type"] == "image/png"}
    assert {("192x192", "any"), ("512x512", "any"), ("512x512", "maskable")} <= set(pngs)
    for (sizes, _), icon in pngs.items():
        with Image.open(_static_path(icon["src"])) as image:
            assert f"{image.width}x{image.height}" == sizes


def test_the_manifest_follows_site_name(db, client, settings):
    settings.SITE_NAME = "Harbour Chat"
    assert json.loads(client.get(reverse("manifest")).content)["name"] == "Harbour Chat"


def test_the_service_worker_is_served_from_the_root_for_the_whole_site(db, client):
    response = client.get("/sw.js")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert response["Service-Worker-Allowed"] == "/"
    assert "no-cache" in response["Cache-Control"]
    body = response.content.decode()
    for listener in ("install", "activate", "fetch", "push", "notificationclick"):
        assert f'addEventListener("{listener}"' in body
    assert f'"{reverse("offline")}"' in body


def test_the_offline_page_says_the_site_is_unreachable_and_holds_nothing_private(db, alice_client, alice):
    for who in (Client(), alice_client):
        response = who.get(reverse("offline"))
        assert response.status_code == 200
        page = response.content.decode()
        assert "is unreachable" in page
        assert alice.username not in page and alice.email not in page
        assert "csrf" not in page.lower() and "<script" not in page


def test_every_page_offers_the_manifest_and_theme_colours(db, alice_client):
    page = alice_client.get("/").content.decode()
    assert f'rel="manifest" href="{reverse("manifest")}"' in page
    assert 'name="theme-color" content="#0f131a" media="(prefers-color-scheme: dark)"' in page


def test_the_content_security_policy_admits_the_worker_and_the_manifest(db, client):
    policy = client.get(reverse("account_login"))["Content-Security-Policy"]
    assert "worker-src 'self'" in policy and "manifest-src 'self'" in policy
