"""Email the archived digest exactly once per day and recipient.

A send after a success does nothing unless forced; a send after a failure sends. Every attempt is recorded in
``digest_sends`` with its error, so a failed send is visible and replayable (run the same command again, or let
the Airflow task retry)."""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from datetime import UTC, date, datetime
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Protocol

from pipeline.digest.archive import ArchivedDigest, make_digest
from pipeline.digest.render import SUBJECT_TEMPLATE
from pipeline.settings import Settings
from pipeline.store import open_warehouse


class DigestSendError(RuntimeError):
    """Sending failed; the digest is archived and the failure recorded."""


class Mailer(Protocol):
    """Something that sends a composed message: smtplib from the CLI, the Airflow SMTP connection in the DAG."""

    def send(self, message: EmailMessage) -> dict[str, str]:
        """Send; return the recipients the server refused (address -> reply) when it accepted the others.
        Raise smtplib.SMTPRecipientsRefused when it refused all, OSError/SMTPException when sending failed."""
        ...


@dataclass(frozen=True, slots=True)
class SmtpSettings:
    host: str
    port: int = 25
    user: str | None = None
    password: str | None = None
    starttls: bool = False
    use_ssl: bool = False
    timeout_s: float = 30.0

    @classmethod
    def from_settings(cls, settings: Settings) -> SmtpSettings:
        if not settings.smtp_host:
            raise DigestSendError("NEWSWATCH_SMTP_HOST is not set")
        return cls(host=settings.smtp_host, port=settings.smtp_port, user=settings.smtp_user,
                   password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
                   starttls=settings.smtp_starttls, use_ssl=settings.smtp_ssl, timeout_s=settings.smtp_timeout_s)

    def send(self, message: EmailMessage) -> dict[str, str]:
        return smtp_send(self, message)


@dataclass(frozen=True, slots=True)
class SendResult:
    day: date
    recipients: str
    status: str  # sent | skipped
    message_id: str | None
    reason: str | None = None  # why nothing was sent

    def to_dict(self) -> dict[str, object]:
        return {"day": self.day.isoformat(), "recipients": self.recipients, "status": self.status,
                "message_id": self.message_id, "reason": self.reason}


def recipients_key(recipients: list[str]) -> str:
    return ",".join(sorted({r.strip().lower() for r in recipients if r.strip()}))


def compose(archived: ArchivedDigest, sender: str, recipients: list[str]) -> EmailMessage:
    """multipart/alternative: plain text and HTML, the HTML carrying the chart as an inline (CID) image."""
    message = EmailMessage()
    message["Subject"] = SUBJECT_TEMPLATE.format(day=archived.day.isoformat(), n=archived.relevant_stories,
                                                 noun="story" if archived.relevant_stories == 1 else "stories")
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Message-ID"] = make_msgid(domain="newswatch.local")
    message.set_content(archived.text_path.read_text(encoding="utf-8"))
    chart_cid = make_msgid(domain="newswatch.local")
    html = archived.html_path.read_text(encoding="utf-8").replace(
        f'src="{archived.chart_path.name}"', f'src="cid:{chart_cid[1:-1]}"')
    message.add_alternative(html, subtype="html")
    html_part = message.get_payload()[1]  # type: ignore[index]
    html_part.add_related(Path(archived.chart_path).read_bytes(), maintype="image", subtype="png", cid=chart_cid,
                          filename=archived.chart_path.name)
    return message


def smtp_send(smtp: SmtpSettings, message: EmailMessage) -> dict[str, str]:
    """Send; returns the recipients the server refused (address -> reply) when it accepted the others."""
    context = ssl.create_default_context()
    client_class = smtplib.SMTP_SSL if smtp.use_ssl else smtplib.SMTP
    kwargs = {"context": context} if smtp.use_ssl else {}
    with client_class(smtp.host, smtp.port, timeout=smtp.timeout_s, **kwargs) as client:
        if smtp.starttls and not smtp.use_ssl:
            client.starttls(context=context)
        if smtp.user:
            client.login(smtp.user, smtp.password or "")
        refused = client.send_message(message)
    return refused_recipients(refused)


def refused_recipients(refused: dict[str, tuple[int, bytes | str]]) -> dict[str, str]:
    """smtplib's refused-recipients mapping as address -> "code reply"."""
    return {address.lower(): f"{code} {reply.decode(errors='replace') if isinstance(reply, bytes) else reply}"
            for address, (code, reply) in refused.items()}


def _already_sent(settings: Settings, day: date, recipients: list[str]) -> set[str]:
    with open_warehouse(settings) as wh:
        return {r for r in recipients if wh.digests.already_sent(day, r)}


def _record(settings: Settings, day: date, outcomes: dict[str, str | None], message_id: str | None) -> None:
    """One ledger row per recipient: 'sent', or 'failed' with the reason."""
    with open_warehouse(settings, write=True, holder=f"digest {day} send") as wh, wh.transaction():
        wh.digests.record_sends(day, outcomes, message_id, datetime.now(UTC))


def send_digest(settings: Settings, day: date, mailer: Mailer, *, sender: str, recipients: list[str],
                force: bool = False, archived: ArchivedDigest | None = None) -> SendResult:
    """Archive (if needed) and email the digest for ``day``: exactly once per day and recipient. A recipient
    the server refuses is recorded as failed (the send raises, exit 1) and is retried alone next time."""
    wanted = recipients_key(recipients).split(",") if recipients_key(recipients) else []
    if not wanted:
        raise DigestSendError("no recipients (set NEWSWATCH_DIGEST_TO)")
    served = set() if force else _already_sent(settings, day, wanted)
    pending = [r for r in wanted if r not in served]
    if not pending:
        return SendResult(day, ",".join(wanted), "skipped", None,
                          f"the {day} digest was already sent to {', '.join(wanted)} (--force sends it again)")
    archived = archived or make_digest(settings, day)
    message = compose(archived, sender, pending)
    try:
        refused = mailer.send(message)
    except smtplib.SMTPRecipientsRefused as exc:  # every recipient refused
        refused = refused_recipients(exc.recipients)
    except (OSError, smtplib.SMTPException) as exc:
        error = f"{type(exc).__name__}: {exc}"
        _record(settings, day, dict.fromkeys(pending, error), message["Message-ID"])
        raise DigestSendError(f"sending the {day} digest to {','.join(pending)} failed: {error}") from exc
    _record(settings, day, {r: (f"refused: {refused[r]}" if r in refused else None) for r in pending},
            message["Message-ID"])
    if refused:
        raise DigestSendError(f"the {day} digest was refused for {', '.join(sorted(refused))} "
                              f"(sent to {len(pending) - len(refused)} other(s)); a new send retries only them")
    return SendResult(day, ",".join(pending), "sent", message["Message-ID"])


def archived_digest(settings: Settings, day: date) -> ArchivedDigest | None:
    """The already archived digest for ``day`` (as recorded in ``digests``), if its files still exist."""
    with open_warehouse(settings) as wh:
        record = wh.digests.archived(day)
    if record is None:
        return None
    html_path = Path(record.html_path)
    archived = ArchivedDigest(day=day, html_path=html_path, text_path=Path(record.text_path),
                              markdown_path=Path(record.markdown_path), chart_path=html_path.with_suffix(".png"),
                              relevant_stories=record.relevant_stories, relevant_articles=record.relevant_articles)
    paths = (archived.html_path, archived.text_path, archived.chart_path)
    return archived if all(p.exists() for p in paths) else None
