"""axe-core in the browser tests: ``assert_accessible(page)`` fails on any serious or critical violation.

axe-core is vendored under tests/e2e/vendor/axe-core/ (test tooling only: the site never serves it;
see the VERSION note there). It is evaluated through the DevTools protocol, not added as a
``<script>``: the site's CSP refuses inline scripts, and a refused one would be a console error.

Use it on any page a test has open, in light and dark (``new_page(color_scheme="dark")``)::

    from .a11y import assert_accessible
    assert_accessible(page)                      # the whole document
    assert_accessible(page, include="#chat")     # one part (a CSS selector, as axe takes it)
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

AXE_JS = Path(__file__).resolve().parent / "vendor" / "axe-core" / "axe.min.js"
BLOCKING = ("serious", "critical")

_RUN_JS = """
async ([include, exclude]) => {
  const context = include ? { include: [include], exclude: exclude || [] } : { exclude: exclude || [] };
  const result = await window.axe.run(context, { resultTypes: ["violations"] });
  return result.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help, url: v.helpUrl,
    nodes: v.nodes.map((n) => ({ target: n.target.join(" "), html: n.html.slice(0, 200),
                                 summary: (n.failureSummary || "").replace(/\\s+/g, " ").slice(0, 300) })),
  }));
}
"""


@cache
def _axe_source() -> str:
    return AXE_JS.read_text(encoding="utf-8")


def axe_violations(page, *, include: str | None = None, exclude: list[str] | None = None) -> list[dict]:
    """Every axe-core violation on the page as it is now (each: id, impact, help, url, nodes)."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(_axe_source())
    return page.evaluate(_RUN_JS, [include, exclude])


def format_violations(violations: list[dict]) -> str:
    lines = []
    for v in violations:
        lines.append(f"- {v['id']} ({v['impact']}): {v['help']} <{v['url']}>")
        lines.extend(f"    {n['target']}: {n['html']}\n      {n['summary']}" for n in v["nodes"][:5])
        if len(v["nodes"]) > 5:
            lines.append(f"    … and {len(v['nodes']) - 5} more")
    return "\n".join(lines)


def assert_accessible(page, *, include: str | None = None, exclude: list[str] | None = None,
                      impacts: tuple[str, ...] = BLOCKING) -> None:
    """No axe-core violation of the given impacts (serious and critical by default) on the page."""
    found = [v for v in axe_violations(page, include=include, exclude=exclude) if v["impact"] in impacts]
    scheme = "dark" if page.evaluate("matchMedia('(prefers-color-scheme: dark)').matches") else "light"
    assert not found, f"axe-core finds on {page.url} ({scheme}):\n{format_violations(found)}"
