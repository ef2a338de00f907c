"""The README's settings table is true to what ships (issue #18): every variable chatsite/settings.py
reads has a row, every row names a variable it reads, and a row's default is the one in the code.

Read from the source with ast, so the test machine's own environment changes nothing.
"""

import ast
import fnmatch
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = ROOT / "chatsite" / "settings.py"
README = ROOT / "README.md"
ENV_READERS = {"str", "int", "bool", "list", "json", "db", "email_url", "url", "float"}
NAME = re.compile(r"`([A-Z][A-Z0-9_]*\*?)`")


def _env_reads() -> dict[str, object]:
    """Variable name (a pattern for names built in a loop) -> its default (``...`` when not a literal)."""
    reads: dict[str, object] = {}
    for node in ast.walk(ast.parse(SETTINGS.read_text())):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
            continue
        func = node.func
        if func.attr == "startswith" and node.args and isinstance(node.args[0], ast.Constant):
            reads.setdefault(node.args[0].value + "*", ...)  # e.g. every ANYMAIL_ variable
            continue
        if not (isinstance(func.value, ast.Name) and func.value.id == "env" and func.attr in ENV_READERS and node.args):
            continue
        first = node.args[0]
        if isinstance(first, ast.Constant):
            name = first.value
        elif isinstance(first, ast.JoinedStr):  # f"{_provider.upper()}_CLIENT_ID"
            name = "".join(part.value if isinstance(part, ast.Constant) else "*" for part in first.values)
        else:
            continue
        default = next((k.value for k in node.keywords if k.arg == "default"), None)
        try:
            value = ast.literal_eval(default) if default is not None else ...
        except ValueError:
            value = ...
        if reads.get(name, ...) is ...:
            reads[name] = value
    return reads


def _readme_rows() -> dict[str, str]:
    """Variable name -> the default column of its row, from the table under "## Configuration"."""
    text = README.read_text().split("## Configuration", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in text.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) != 3 or not line.startswith("| `"):
            continue
        names = NAME.findall(cells[0])
        defaults = cells[1].split(" / ")
        for i, name in enumerate(names):
            # "`A` / `B`" with "`2` / `20`": each name its own default.
            rows[name] = defaults[i] if " / " in cells[0] and len(defaults) == len(names) else cells[1]
    return rows


def _as_readme(value) -> set[str]:
    """How the README may write a literal default (nothing to compare for a computed one)."""
    if isinstance(value, bool):
        return {f"`{int(value)}`"}
    if isinstance(value, (int, str)) and value != "":
        return {f"`{value}`"}
    if isinstance(value, list):
        return {f"`{','.join(map(str, value))}`"} if value else {"`[]`", "empty"}
    return set()


def test_every_setting_read_has_a_readme_row_and_every_row_is_read():
    reads, rows = _env_reads(), _readme_rows()
    assert rows, "the README's settings table was not found"
    undocumented = [name for name in reads if not fnmatch.filter(rows, name)]
    unbuilt = [name for name in rows if not any(fnmatch.fnmatch(name, read) for read in reads)]
    assert not undocumented, f"read by chatsite/settings.py but not in the README's table: {undocumented}"
    assert not unbuilt, f"in the README's table but read nowhere in chatsite/settings.py: {unbuilt}"


def test_every_readme_default_is_the_default_in_the_code():
    reads, rows = _env_reads(), _readme_rows()
    wrong = []
    for name, value in reads.items():
        expected = _as_readme(value)
        if expected and name in rows and rows[name].split(" ")[0] not in expected:
            wrong.append(f"{name}: README {rows[name]!r}, code {' or '.join(sorted(expected))}")
    assert not wrong, "README defaults that are not the code's:\n" + "\n".join(wrong)


def test_site_url_defaults_to_where_make_run_serves():
    """Digest links work out of the box: SITE_URL's default is the address `make run` prints."""
    makefile = (ROOT / "Makefile").read_text()
    port = re.search(r"^PORT \?= (\d+)$", makefile, re.M).group(1)
    printed = re.search(r'echo "Open (http://[^/$]+):\$\(PORT\)/', makefile).group(1)
    assert _env_reads()["SITE_URL"] == f"{printed}:{port}"
