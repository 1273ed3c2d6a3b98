import random
import re
from pathlib import Path

import pytest

from pipeline.normalize import canonical_url, content_hash, derive_title, html_to_text, title_key


@pytest.mark.parametrize(("raw", "expected"), [
    ("HTTP://WWW.Example.com/a/b/?utm_source=x&utm_medium=rss&id=7#section", "https://example.com/a/b?id=7"),
    ("https://example.com/?fbclid=abc&gclid=def", "https://example.com/"),
    ("https://example.com:443/path//to/", "https://example.com/path/to"),
    ("https://example.com/x?b=2&a=1", "https://example.com/x?a=1&b=2"),
    ("mailto:someone@example.com", "mailto:someone@example.com"),
    (None, None),
])
def test_canonical_url(raw, expected):
    assert canonical_url(raw) == expected


def test_html_to_text_drops_scripts_and_keeps_blocks():
    html = "<p>NATO &amp; the EU</p><script>alert(1)</script><p>met <b>today</b>.</p>"
    assert html_to_text(html) == "NATO & the EU\nmet today."


def test_title_key_folds_outlet_suffix_prefix_and_punctuation():
    assert title_key("Opinion | NATO allies agree to spend more - BBC News") == "nato allies agree to spend more"
    assert title_key("NATO allies agree to spend more!") == "nato allies agree to spend more"


def test_content_hash_ignores_case_and_whitespace_but_not_words():
    assert content_hash("A Title", "Some  text\nhere") == content_hash("a title", "some text here")
    assert content_hash("A Title", "Some text") != content_hash("A Title", "Other text")


def test_derive_title_prefers_headline_lead_line_else_first_sentence():
    assert derive_title("Europe rearms\n\nThe body follows. More.") == "Europe rearms"
    assert derive_title("The EU agreed. Then more happened.") == "The EU agreed"
    long = "word " * 60 + "end."
    title = derive_title(long)
    assert title.endswith("…") and len(title) <= 141


@pytest.mark.parametrize("text", ["NATO &amp; EU agree", "AT&T wins", "&amp without semicolon", "&#128; price",
                                  "&#0; nul", "&notit; x", "&nbsp;&nbsp;Kyiv", "a &lt;b&gt; c", "&#x1F600;",
                                  "&unknown; y", "fish & chips &", "&#xD800; s", "&AMP; caps", "&amp;amp;",
                                  "Zełenski &quot;gotów&quot;", "Bündnis&shy;partner"])
def test_text_without_markup_decodes_references_as_the_html_parser_does(text):
    # an empty element sends the same text through the HTML parser: both paths must agree
    assert html_to_text(text) == html_to_text(text + "<span></span>")


def test_html_to_text_puts_every_block_on_its_own_line():
    html = "<h2>Summit</h2><p>Allies met.</p><ul><li>air defence</li><li>drones</li></ul><div>End<br>now</div>"
    assert html_to_text(html).split("\n") == ["Summit", "Allies met.", "air defence", "drones", "End", "now"]


def _links_in(folder: Path) -> list[str]:
    links = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        links += [m.decode("utf-8", "replace") for m in re.findall(rb"(?:href=\"|<link>|<guid>)(https?://[^\"<\s]+)",
                                                                      path.read_bytes(), flags=re.I)]
    return links


def _generated_links(count: int) -> list[str]:
    rng = random.Random(7)
    hosts = ["example.com", "Example.COM", "www.news.example", "WWW.X.ORG", "a-b.c", "host.example.", "a..b",
             "-lead.example", "xn--bcher-kva.example", "xn--zz.example", "127.0.0.1", "[::1]", "żółw.pl", "h_u.example"]
    ports = ["", "", ":80", ":443", ":8080", ":65535", ":99999", ":", ":0"]
    alphabet = "abcXYZ019-._~!$&'()*+,/:;=@%[]|^ ĄéÜ\"<>{}\\"
    tails = ["", "?", "?a=1", "?utm_source=x&b=2", "#frag", "?b=2&a=1#f"]
    links = []
    for _ in range(count):
        path = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
        links.append(f"{rng.choice(['http', 'https', 'HTTPS', 'Http'])}://{rng.choice(hosts)}{rng.choice(ports)}"
                     f"{rng.choice(['', '/', '//']) + path}{rng.choice(tails)}")
    return links


def test_the_plain_link_shortcut_gives_w3libs_canonical_form(monkeypatch):
    """Links w3lib would leave as they are skip it; every link comes out as it does through w3lib."""
    import pipeline.normalize as normalize

    links = _generated_links(4000) + _links_in(Path(__file__).parent / "fixtures")
    shared_feeds = Path(__file__).resolve().parents[2] / "shared" / "feeds"
    if shared_feeds.is_dir():
        links += _links_in(shared_feeds)
    fast = [canonical_url(link) for link in links]
    assert sum(bool(normalize._PLAIN_URL.fullmatch(link.strip())) for link in links) > len(links) // 10
    monkeypatch.setattr(normalize, "_PLAIN_URL", re.compile(r"(?!)"))  # matches nothing: always through w3lib
    assert fast == [canonical_url(link) for link in links]
