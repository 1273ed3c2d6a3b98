"""The digest: content for a day, safety of feed-provided text, and exactly-once email against a real SMTP
server on loopback (aiosmtpd)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from aiosmtpd.controller import Controller
from click.testing import CliRunner

from pipeline.cli import main
from pipeline.digest.archive import make_digest
from pipeline.digest.mail import DigestSendError, SmtpSettings, send_digest
from pipeline.settings import get_settings
from pipeline.store.connection import connect
from tests.test_validation import _process_items, make_item

DAY = datetime.now(UTC).date()


def _today(minutes: int) -> datetime:
    """A time inside today (UTC), so that a run just after midnight does not file the items under yesterday."""
    return datetime(DAY.year, DAY.month, DAY.day, tzinfo=UTC) + timedelta(minutes=minutes)


INJECTION = make_item(
    9, title='NATO <script>alert("x")</script><img src=x onerror=alert(1)> summit <iframe src="https://evil.example">',
    summary='<style>body{display:none}</style>Allies meet. <a href="javascript:alert(2)" onclick="steal()">more</a>',
    url="javascript:alert(3)")


def assert_inert(html: str) -> None:
    """Structurally inert: no active elements, no event handlers, links http(s) only, images only ours."""
    from selectolax.lexbor import LexborHTMLParser

    tree = LexborHTMLParser(html)
    assert tree.css("script, iframe, object, embed, style, form, link, meta[http-equiv]") == []
    for node in tree.css("*"):
        for name, value in node.attributes.items():
            assert not name.lower().startswith("on"), (node.tag, name)
            if name.lower() == "href":
                assert (value or "").startswith(("http://", "https://")), value
            if name.lower() == "style":
                assert "expression(" not in (value or "") and "url(" not in (value or "")
    for image in tree.css("img"):
        assert image.attributes["src"].startswith(("cid:", f"{DAY.isoformat()}.png"))


def _load_day(settings):
    items = [make_item(1, published_at=_today(20)),
             make_item(2, title="Local bakery wins national bread award", summary="Sourdough.",
                       published_at=_today(10)),
             replace(INJECTION, url="https://test.example/inject", published_at=_today(30))]
    _process_items(settings, items)


def test_digest_lists_relevant_stories_and_is_inert(settings):
    _load_day(settings)
    archived = make_digest(get_settings(), DAY)
    html = archived.html_path.read_text(encoding="utf-8")
    text = archived.text_path.read_text(encoding="utf-8")
    markdown = archived.markdown_path.read_text(encoding="utf-8")
    assert "NATO allies meet in Brussels" in html and "NATO allies meet in Brussels" in text
    assert "bakery" not in text.lower()
    assert_inert(html)
    assert "&lt;script&gt;" in html
    assert "<script" not in markdown.lower() and "javascript:" not in markdown.lower()
    assert "(javascript:" not in markdown and "<javascript:" not in markdown
    with connect(get_settings().db, read_only=True) as con:
        assert con.execute("SELECT relevant_stories FROM digests WHERE digest_date = ?", [DAY]).fetchall() == [(2,)]


def test_empty_day_gives_a_short_nothing_relevant_digest(settings):
    archived = make_digest(get_settings(), date(2020, 1, 1))
    assert "Nothing relevant" in archived.text_path.read_text(encoding="utf-8")
    assert archived.relevant_stories == 0 and archived.chart_path.stat().st_size > 1000


def test_email_parts_image_and_exactly_once(settings, smtp_server):
    controller, inbox = smtp_server
    _load_day(settings)
    smtp = SmtpSettings(host="127.0.0.1", port=controller.port)
    first = send_digest(get_settings(), DAY, smtp, sender="newswatch@test", recipients=["b@x.eu", "a@x.eu"])
    again = send_digest(get_settings(), DAY, smtp, sender="newswatch@test", recipients=["A@x.eu", "b@x.eu"])
    forced = send_digest(get_settings(), DAY, smtp, sender="newswatch@test", recipients=["a@x.eu", "b@x.eu"],
                         force=True)
    assert (first.status, again.status, forced.status) == ("sent", "skipped", "sent")
    assert len(inbox.messages) == 2
    message = inbox.messages[0]
    assert message.get_content_type() == "multipart/alternative"
    assert message["Subject"] == f"newswatch digest {DAY.isoformat()}: 2 relevant stories"
    plain = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert "NATO allies meet in Brussels" in plain.get_content()
    images = [p for p in message.walk() if p.get_content_type() == "image/png"]
    assert len(images) == 1 and images[0].get_content()[:8] == b"\x89PNG\r\n\x1a\n"
    cid = images[0]["Content-ID"].strip("<>")
    html_text = html.get_content()
    assert f"cid:{cid}" in html_text
    assert_inert(html_text)


def test_smtp_down_records_failure_then_succeeds_when_back(settings, smtp_server, monkeypatch):
    controller, inbox = smtp_server
    _load_day(settings)
    port = controller.port
    controller.stop()
    monkeypatch.setenv("NEWSWATCH_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("NEWSWATCH_SMTP_PORT", str(port))
    monkeypatch.setenv("NEWSWATCH_DIGEST_TO", "analyst@x.eu")
    monkeypatch.setenv("NEWSWATCH_SMTP_TIMEOUT_S", "3")
    get_settings.cache_clear()
    runner = CliRunner()
    failed = runner.invoke(main, ["digest", "--date", DAY.isoformat(), "--send", "--json"])
    assert failed.exit_code != 0 and "failed" in failed.output
    assert get_settings().digest_dir.joinpath(f"{DAY.isoformat()}.html").exists()
    with connect(get_settings().db, read_only=True) as con:
        rows = con.execute("SELECT status, error FROM digest_sends").fetchall()
    assert rows[0][0] == "failed" and "Connection" in rows[0][1]

    revived = Controller(inbox, hostname="127.0.0.1", port=port)
    revived.start()
    request_stop = revived.stop
    sent = runner.invoke(main, ["digest", "--date", DAY.isoformat(), "--send", "--json"])
    assert sent.exit_code == 0, sent.output
    assert json.loads(sent.output)["send"]["status"] == "sent" and len(inbox.messages) == 1
    skipped = runner.invoke(main, ["digest", "--date", DAY.isoformat(), "--send", "--json"])
    assert json.loads(skipped.output)["send"]["status"] == "skipped" and len(inbox.messages) == 1
    request_stop()


def test_no_recipients_is_a_clear_error(settings):
    with pytest.raises(DigestSendError, match="no recipients"):
        send_digest(get_settings(), DAY, SmtpSettings(host="127.0.0.1"), sender="a@b", recipients=[])


@pytest.mark.browser
def test_digest_renders_in_headless_chromium(settings):
    from PIL import Image

    from tests.browser import requires_chromium, screenshot_file

    if requires_chromium.args[0]:
        pytest.skip(requires_chromium.kwargs["reason"])
    _load_day(settings)
    archived = make_digest(get_settings(), DAY)
    shots = get_settings().digest_dir / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    png = screenshot_file(archived.html_path, shots / f"{DAY.isoformat()}.png")
    image = Image.open(png).convert("RGB")
    assert image.size == (900, 2400)
    header = image.getpixel((450, 60))  # the dark-blue masthead rendered, not a blank page
    assert header[2] > header[0] and sum(header) < 300
    colours = len(set(image.resize((90, 240)).getdata()))
    assert colours > 50  # text, badges and the chart, not an empty canvas


class _RefusingInbox:
    """An SMTP server that refuses one address with 550, as a real relay refuses an unknown mailbox."""

    def __init__(self, refused: set[str]) -> None:
        self.refused = refused
        self.delivered: list[list[str]] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() in self.refused:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.delivered.append(list(envelope.rcpt_tos))
        return "250 OK"


def test_a_refused_recipient_is_a_failure_and_is_retried_alone(settings):
    from tests.conftest import free_port

    _load_day(settings)
    inbox = _RefusingInbox({"boss@x.eu"})
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        smtp = SmtpSettings(host="127.0.0.1", port=controller.port)
        with pytest.raises(DigestSendError, match=r"boss@x\.eu"):
            send_digest(get_settings(), DAY, smtp, sender="n@test", recipients=["analyst@x.eu", "boss@x.eu"])
        with connect(get_settings().db, read_only=True) as con:
            rows = con.execute("SELECT recipients, status FROM digest_sends ORDER BY recipients").fetchall()
        assert rows == [("analyst@x.eu", "sent"), ("boss@x.eu", "failed")]
        inbox.refused.clear()  # the mailbox is fixed
        again = send_digest(get_settings(), DAY, smtp, sender="n@test", recipients=["analyst@x.eu", "boss@x.eu"])
        assert again.status == "sent" and again.recipients == "boss@x.eu"
        assert inbox.delivered == [["analyst@x.eu"], ["boss@x.eu"]]
    finally:
        controller.stop()


def test_bidi_controls_never_reach_the_digest(settings):
    spoof = make_item(7, title="NATO summit \u202eroodkcab\u202c in Brussels",
                      summary="Allies meet \u2066today\u2069.", url="https://test.example/\u202egnp.exe",
                      published_at=_today(40))
    _process_items(settings, [make_item(1, published_at=_today(20)), spoof])
    archived = make_digest(get_settings(), DAY)
    for path in (archived.html_path, archived.text_path, archived.markdown_path):
        text = path.read_text(encoding="utf-8")
        assert not any(c in text for c in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"), path.name
    html = archived.html_path.read_text(encoding="utf-8")
    assert "NATO summit roodkcab in Brussels" in html  # the item is shown, only its controls are gone
    assert "gnp.exe" not in html
