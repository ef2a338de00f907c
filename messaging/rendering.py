"""User text -> safe HTML: a markdown subset, clickable links, emoji shortcodes.

markdown-it-py parses with raw HTML disabled; nh3 (ammonia) then keeps only an allowlist of tags,
so nothing a user types can inject markup or script whatever the parser lets through.
"""

import re

import emoji
import nh3
from markdown_it import MarkdownIt

_markdown = (
    MarkdownIt("commonmark", {"html": False, "linkify": True, "breaks": True, "typographer": False})
    .enable(["linkify", "strikethrough"])
    .disable(["image", "heading", "lheading", "hr", "reference", "html_block", "html_inline"])
)
# Links: only web and mail links survive; everything else (javascript:, data:) is dropped by nh3.
_markdown.validateLink = lambda url: url.lower().startswith(("http://", "https://", "mailto:"))

ALLOWED_TAGS = {"p", "br", "strong", "em", "del", "s", "code", "pre", "blockquote", "ul", "ol", "li", "a"}
ALLOWED_ATTRIBUTES = {"a": {"href"}, "ol": {"start"}}


MENTION_PATTERN = re.compile(r"(?<![\w@/.:+-])@([\w.+-]*\w)")


def find_mentions(text: str) -> set[str]:
    """The lower-cased names after each @ in the text ("all" included)."""
    return {name.lower() for name in MENTION_PATTERN.findall(text)}


def render_message_html(text: str, *, mentioned: set[str] = frozenset()) -> str:
    """``mentioned``: lower-cased usernames (and "all") to mark up as mentions."""
    text = emoji.emojize(text, language="alias")
    html = _markdown.render(text)
    html = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
        set_tag_attribute_values={"a": {"target": "_blank"}},
    ).strip()
    if mentioned:
        # After sanitising: the markup added here is ours; the names come from our own user table.
        html = MENTION_PATTERN.sub(
            lambda m: f'<strong class="mention">@{m.group(1)}</strong>' if m.group(1).lower() in mentioned else m.group(0),
            html,
        )
    return html
