"""collectstatic for production: hashed names, the browser modules' imports included."""

import re

from django.core.management import call_command
from django.test import override_settings


def test_collectstatic_hashes_the_modules_and_their_imports(tmp_path, settings):
    storages = {**settings.STORAGES, "staticfiles": {"BACKEND": "chatsite.storage.StaticFilesStorage"}}
    with override_settings(STATIC_ROOT=tmp_path, STORAGES=storages):
        call_command("collectstatic", "--noinput", "-v0")
    main = next(p for p in (tmp_path / "js").glob("main.*.js") if re.fullmatch(r"main\.[0-9a-f]{12}\.js", p.name))
    imports = re.findall(r'from "\./([^"]+)"', main.read_text())
    assert imports and all(re.fullmatch(r"[a-z]+\.[0-9a-f]{12}\.js", name) for name in imports), imports
    assert all((tmp_path / "js" / name).exists() for name in imports)
