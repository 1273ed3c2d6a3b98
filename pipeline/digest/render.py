"""Render a digest to HTML (inline CSS, no JavaScript, mail-client safe), plain text and Markdown.

All feed-provided text is untrusted: HTML output is autoescaped, Markdown output is escaped, and only
http(s) links are ever emitted."""

from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import urlsplit

from jinja2 import Environment, PackageLoader, StrictUndefined, pass_context, select_autoescape
from jinja2.runtime import Context
from markupsafe import Markup

from pipeline.digest.build import TOP_STORIES, Digest

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|<>~])")
_HTML_TAG = re.compile(r"<[^>]*>")
# bidirectional controls (LRE, RLE, PDF, LRO, RLO, LRI, RLI, FSI, PDI, LRM, RLM, ALM): a feed can use them to
# make a headline or a link read differently from what it is ("gnp.evil" shown as "live.png")
BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")


def strip_bidi(value: object) -> object:
    """Jinja ``finalize``: every value printed in any digest format loses its bidi controls."""
    if isinstance(value, Markup):  # already safe markup stays markup (not escaped twice)
        return Markup(BIDI_CONTROLS.sub("", value))
    return BIDI_CONTROLS.sub("", value) if isinstance(value, str) else value


def safe_url(url: str | None) -> str | None:
    """The URL if it is an absolute http(s) URL without whitespace or quotes, else None."""
    if not url:
        return None
    url = url.strip()
    if any(c in url for c in " \t\r\n\"'<>`\\") or BIDI_CONTROLS.search(url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    return url if parts.scheme.lower() in ("http", "https") and parts.netloc else None


def md_escape(text: str | None) -> str:
    text = _HTML_TAG.sub("", text or "")
    return _MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(text.split()))


def plain(text: str | None) -> str:
    return " ".join((text or "").split())


@pass_context
def topic_name(context: Context, topic: str) -> str:
    """The taxonomy's display name of a topic (carried by the digest, see Digest.topic_names)."""
    return context["topic_names"].get(topic) or topic.replace("_", " ").capitalize()


@lru_cache(maxsize=1)
def _env() -> Environment:
    env = Environment(
        loader=PackageLoader("pipeline.digest", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html", "html.j2"), default_for_string=False),
        undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
        finalize=strip_bidi,
    )
    env.filters.update(safe_url=safe_url, md=md_escape, plain=plain, topic_name=topic_name)
    return env


def _context(digest: Digest, chart_src: str | None) -> dict[str, object]:
    return {"d": digest, "top": digest.stories[:TOP_STORIES], "chart_src": chart_src,
            "label_name": {2: "core", 1: "related"}, "topic_names": digest.topic_names}


def render_html(digest: Digest, chart_src: str | None = None) -> str:
    return _env().get_template("digest.html.j2").render(**_context(digest, chart_src))


def render_text(digest: Digest) -> str:
    return _env().get_template("digest.txt.j2").render(**_context(digest, None))


def render_markdown(digest: Digest, chart_src: str | None = None) -> str:
    return _env().get_template("digest.md.j2").render(**_context(digest, chart_src))


SUBJECT_TEMPLATE = "newswatch digest {day}: {n} relevant {noun}"
