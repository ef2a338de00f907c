"""Static files: WhiteNoise's compressed, hashed storage, with the ES modules' imports hashed too.

The browser's modules import each other (``import { on } from "./socket.js"``). Django rewrites
those imports to the hashed names only when asked (``support_js_module_import_aggregation``);
without it a tab could, for the cache's lifetime after a deploy, load a new module beside an old one.
Only our own modules (``js/``) are rewritten: third-party scripts keep their references as written
(django-htmx's extensions import a file it does not ship).
"""

from whitenoise.storage import CompressedManifestStaticFilesStorage


class StaticFilesStorage(CompressedManifestStaticFilesStorage):
    support_js_module_import_aggregation = True

    def url_converter(self, name, hashed_files, template=None):
        if name.endswith(".js") and not name.startswith("js/"):
            return lambda match: match["matched"]
        return super().url_converter(name, hashed_files, template)
