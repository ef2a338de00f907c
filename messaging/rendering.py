"""User text -> safe HTML: a markdown subset, clickable links, emoji shortcodes, @mentions.

markdown-it-py parses with raw HTML disabled; nh3 (ammonia) then keeps only an allowlist of tags,
so nothing a user types can inject markup or script whatever the parser lets through.
"""

import re

import emoji
import nh3
from markdown_it import MarkdownIt
from markdown_it.token import Token

MENTION_PATTERN = re.compile(r"(?<![\w@/.:+-])@([\w.+-]*\w)")

_markdown = (
    MarkdownIt("commonmark", {"html": False, "linkify": True, "breaks": True, "typographer": False})
    .enable(["linkify", "strikethrough"])
    .disable(["image", "heading", "lheading", "hr", "reference", "html_block", "html_inline"])
)
# Links: only web and mail links survive; everything else (javascript:, data:) is dropped by nh3.
_markdown.validateLink = lambda url: url.lower().startswith(("http://", "https://", "mailto:"))

ALLOWED_TAGS = {"p", "br", "strong", "em", "del", "s", "code", "pre", "blockquote", "ul", "ol", "li", "a"}
ALLOWED_ATTRIBUTES = {"a": {"href"}, "ol": {"start"}}
ALLOWED_CLASSES = {"strong": {"mention"}}


def find_mentions(text: str) -> set[str]:
    """The lower-cased names after each @ in the text ("all" included)."""
    return {name.lower() for name in MENTION_PATTERN.findall(text)}


def _mark_mentions(tokens: list[Token], mentioned: set[str]) -> None:
    """Wrap @name in <strong class="mention"> in plain text only: never inside a link or code."""
    for block in tokens:
        if block.type != "inline" or not block.children:
            continue
        children, in_link = [], 0
        for token in block.children:
            in_link += token.type == "link_open"
            in_link -= token.type == "link_close"
            if token.type != "text" or in_link or "@" not in token.content:
                children.append(token)
                continue
            position = 0
            for match in MENTION_PATTERN.finditer(token.content):
                if match.group(1).lower() not in mentioned:
                    continue
                children.append(_text(token.content[position:match.start()]))
                children.extend([Token("strong_open", "strong", 1, attrs={"class": "mention"}),
                                 _text(match.group(0)), Token("strong_close", "strong", -1)])
                position = match.end()
            children.append(_text(token.content[position:]))
        block.children = children


def _text(content: str) -> Token:
    token = Token("text", "", 0)
    token.content = content
    return token


# One line of words, spaces, emoji and plain punctuation: markdown, links, shortcodes and the
# sanitiser would give back the same text in a <p> (tests/test_rendering.py checks it over many
# generated lines), so it skips them: ~80 µs of the send path, on most messages people send.
_PLAIN_LINE = re.compile(
    r"(?!\d+[.)]|-)"  # "1. ", "3) " and "- " start lists
    r"(?:[^\W_]|[ ,'\"?!\u200d\ufe0f\u2600-\u27bf\U0001f300-\U0001faff-]"
    r"|\.(?!\w)"  # no "." before a letter or digit: "example.com" becomes a link
    r"|:(?!\S))+"  # no ":" before text: ":smile:" and "https://" are markup
)


def _is_plain_line(text: str) -> bool:
    return text == text.strip() and _PLAIN_LINE.fullmatch(text) is not None


def render_message_html(text: str, *, mentioned: set[str] = frozenset()) -> str:
    """``mentioned``: lower-cased usernames (and "all") to mark up as mentions."""
    if _is_plain_line(text):
        return f"<p>{text}</p>"  # nothing to escape: the pattern admits no & < >
    return render_markdown(text, mentioned=mentioned)


def render_markdown(text: str, *, mentioned: set[str] = frozenset()) -> str:
    """The full path: markdown subset, links, emoji shortcodes, mentions, then the sanitiser."""
    text = emoji.emojize(text, language="alias")
    tokens = _markdown.parse(text)
    if mentioned:
        _mark_mentions(tokens, mentioned)
    html = _markdown.renderer.render(tokens, _markdown.options, {})
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        allowed_classes=ALLOWED_CLASSES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
        set_tag_attribute_values={"a": {"target": "_blank"}},
    ).strip()
