"""User text -> HTML: the plain-line shortcut must give exactly what the full markdown path gives."""

import random

import pytest

from messaging.rendering import _is_plain_line, render_markdown, render_message_html

PLAIN = list("abcxyzABCÉéüß日本語0123456789 ,.'\"?!-:") + ["😀", "👍🏽", "❤️", "👩‍💻", "✅"]
MARKUP = list(".:/@_*~`#>-+()[]&<;=|\\\t")
TRICKY = [
    "1. one", "3) three", "2024. A year", "1.5 million", "example.com", "www.example.com", "see example.com now",
    "localhost", "a.b", "hello.", "done. next", "say \"hi\"", "it's", "?!", "Ünïcödé façade", "日本語のテキスト",
    "emoji 😀 and ❤️", "👩‍💻 coding", "x" * 300, "a  b", "end!", "0", "00. x", "ok...", "wait... what",
    "- item", "-- x", "well-known", "a - b", "Note: this", "end:", ":smile:", "a :smile: b", "a :smile:", "http://x.io",
    "mailto:a@b.c", "10:30", "a:b", "a: :b", "bench lat-17 xxxxxxxx",
]


def generated(count: int, alphabet: list[str], seed: int = 6):
    rng = random.Random(seed)
    for _ in range(count):
        yield "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 24))).strip() or "x"


@pytest.mark.parametrize("text", TRICKY)
def test_tricky_lines_render_as_markdown_would(text):
    assert render_message_html(text) == render_markdown(text)


@pytest.mark.parametrize("alphabet", [PLAIN, PLAIN + MARKUP], ids=["plain", "with-markup"])
def test_generated_lines_render_as_markdown_would(alphabet):
    shortcut_taken = 0
    for text in generated(3000, alphabet):
        assert render_message_html(text) == render_markdown(text), text
        shortcut_taken += _is_plain_line(text)
    assert shortcut_taken > 150  # the shortcut is really taken, not only the full path


def test_markup_still_goes_through_markdown():
    assert render_message_html("**bold** and example.com") == (
        '<p><strong>bold</strong> and <a href="http://example.com" target="_blank" '
        'rel="noopener noreferrer nofollow">example.com</a></p>')
    assert render_message_html("1. first") == "<ol>\n<li>first</li>\n</ol>"
    assert render_message_html("<script>alert(1)</script>") == "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>"
    assert render_message_html("a :thumbsup:") == "<p>a 👍</p>"
