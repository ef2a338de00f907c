"""User text -> safe HTML: a markdown subset, clickable links, emoji shortcodes.

markdown-it-py parses with raw HTML disabled; nh3 (ammonia) then keeps only an allowlist of tags,
so nothing a user types can inject markup or script whatever the parser lets through.
"""

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


def render_message_html(text: str) -> str:
    text = emoji.emojize(text, language="alias")
    html = _markdown.render(text)
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
        set_tag_attribute_values={"a": {"target": "_blank"}},
    ).strip()
