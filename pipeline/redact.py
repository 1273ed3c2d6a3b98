"""Credentials never leave the feed list: URLs are redacted wherever they are stored, logged or printed.

``http://user:secret@host/feed?api_key=abc`` becomes ``http://user:***@host/feed?api_key=***``. The secret-bearing
URL is read from the feed list (the configuration) each time a feed is polled."""

from __future__ import annotations

import logging
import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

REDACTED = "***"
_SECRET_PARAMS = re.compile(r"(key|token|secret|password|passwd|pass|pwd|auth|sig|signature|credential)", re.I)
_URL_IN_TEXT = re.compile(r"https?://[^\s'\"<>]+")


def redact_url(url: str | None) -> str | None:
    """The URL with its password and secret-looking query values replaced by ``***``."""
    if not url:
        return url
    try:
        parts = urlsplit(url)
    except ValueError:
        return REDACTED
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        user = userinfo.split(":", 1)[0]
        netloc = f"{user}:{REDACTED}@{host}" if ":" in userinfo else f"{REDACTED}@{host}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(_SECRET_PARAMS.search(k) for k, _ in pairs):
            query = urlencode([(k, REDACTED if _SECRET_PARAMS.search(k) else v) for k, v in pairs], safe="*")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def redact_text(text: str | None) -> str | None:
    """Every URL inside a message (an HTTP client's error, a log line) redacted."""
    if not text:
        return text
    return _URL_IN_TEXT.sub(lambda m: redact_url(m.group()) or "", text)


class RedactingFilter(logging.Filter):
    """Rewrites a log record's message with its URLs redacted (httpx logs every request URL at INFO)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact_text(message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True


def install_log_redaction(*logger_names: str) -> None:
    for name in logger_names:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactingFilter) for f in logger.filters):
            logger.addFilter(RedactingFilter())
