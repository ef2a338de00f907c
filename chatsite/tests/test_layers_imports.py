"""Imports run one way: chatsite <- accounts <- messaging <- groups / calls, and no selector imports
a service. Read from the source with ast (every import, at module level or inside a function), so
a cycle cannot hide behind an import made late. Tests and migrations may import anything.

A lower layer that must know something of a higher one asks through a registry the higher one
fills at start (accounts.policy.register_shares_conversation), never by an import.
"""

import ast
import functools
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APPS = ("chatsite", "accounts", "messaging", "groups", "calls")
# What each layer must never import.
FORBIDDEN = {
    "chatsite": {"accounts", "messaging", "groups", "calls"},
    "accounts": {"messaging", "groups", "calls"},
    "messaging": {"groups", "calls"},
}
# The project's wiring names every app by its nature: the URL conf, the socket routes, the API.
COMPOSITION_ROOT = {"chatsite/urls.py", "chatsite/routing.py", "chatsite/asgi.py", "chatsite/api.py"}

# Files other helpers are changing in the same issue (#10): each is checked by its own strict
# xfail below, so the entry must go once the file follows the layers.


@dataclass(frozen=True)
class Violation:
    path: str
    imported: str
    rule: str


def _module_name(relative: Path) -> str:
    parts = list(relative.with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imported_modules(tree: ast.AST, module: str, is_package: bool) -> set[str]:
    """Every module a file imports, relative imports resolved; ``from x import y`` counts both
    x and x.y (y may be a submodule: ``from accounts import services``)."""
    package = module if is_package else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            found.add(source)
            found.update(f"{source}.{alias.name}" for alias in node.names if alias.name != "*")
    return found


def _is_selectors(module: str) -> bool:
    return "selectors" in module.split(".")


def _is_services(module: str) -> bool:
    return "services" in module.split(".")


def violations(root: Path = ROOT) -> list[Violation]:
    found = []
    for app in APPS:
        for path in sorted((root / app).rglob("*.py")):
            relative = path.relative_to(root)
            if {"tests", "migrations"} & set(relative.parts) or relative.as_posix() in COMPOSITION_ROOT:
                continue
            module = _module_name(relative)
            imported = _imported_modules(ast.parse(path.read_text(), str(path)), module, path.name == "__init__.py")
            for name in sorted(imported):
                top = name.split(".")[0]
                if top in FORBIDDEN.get(app, ()):
                    found.append(Violation(relative.as_posix(), name, f"{app} imports {top}"))
                if _is_selectors(module) and _is_services(name):
                    found.append(Violation(relative.as_posix(), name, "a selector imports a service"))
    return found


@functools.cache
def violations_here() -> tuple[Violation, ...]:
    return tuple(violations())


def test_layers_run_one_way_and_no_selector_imports_a_service():
    assert list(violations_here()) == []


def test_the_check_sees_every_kind_of_wrong_import(tmp_path):
    """The checker itself, on a small made-up tree: what it must flag and what it must allow."""
    files = {
        "accounts/selectors.py": "def late():\n    from messaging.models import Membership\n",
        "accounts/services/presence.py": "from .. import selectors\n",
        "accounts/tests/test_x.py": "from groups import services\n",  # tests may
        "messaging/services.py": "from accounts import policy\nimport calls.frames\n",
        "messaging/selectors.py": "from accounts.services import presence\n",
        "groups/selectors.py": "from . import services\nfrom messaging.models import Membership\n",
        "chatsite/realtime.py": "from accounts import models\n",
        "chatsite/urls.py": "from accounts import views\n",  # the wiring may
        "calls/__init__.py": "",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    assert {(v.path, v.imported, v.rule) for v in violations(tmp_path)} == {
        ("accounts/selectors.py", "messaging.models", "accounts imports messaging"),
        ("accounts/selectors.py", "messaging.models.Membership", "accounts imports messaging"),
        ("messaging/services.py", "calls.frames", "messaging imports calls"),
        ("messaging/selectors.py", "accounts.services", "a selector imports a service"),
        ("messaging/selectors.py", "accounts.services.presence", "a selector imports a service"),
        ("groups/selectors.py", "groups.services", "a selector imports a service"),
        ("chatsite/realtime.py", "accounts", "chatsite imports accounts"),
        ("chatsite/realtime.py", "accounts.models", "chatsite imports accounts"),
    }
