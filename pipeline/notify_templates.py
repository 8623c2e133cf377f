"""Spanish e-mail and in-app texts for every notification event (pure: values in, text out).

Each ``*_email`` function returns an :class:`EmailContent` (subject, plain text, HTML); the
HTML escapes everything that comes from users (document names, company names).
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Final

from pipeline.errors import ErrorCode, user_message
from pipeline.messages import NotificationText, category_label, document_notification
from pipeline.spanish import MONTHS, long_date


class NotifyEvent(StrEnum):
    """What happened; also the in-app ``kind`` and the webhook ``event`` field."""

    document_processed = "document_processed"
    document_failed = "document_failed"
    document_needs_review = "document_needs_review"
    client_document = "client_document"  # a client sent a document (told to the advisors)
    payslips_ready = "payslips_ready"
    daily_digest = "daily_digest"


@dataclass(frozen=True, slots=True)
class EmailContent:
    """One e-mail: subject line, plain-text body and HTML body (same content)."""

    subject: str
    text: str
    html: str


@dataclass(frozen=True, slots=True)
class DigestCompany:
    """One client company's day in the advisors' digest."""

    name: str
    received: int
    processed: int
    failed: int
    needs_review: int


@dataclass(frozen=True, slots=True)
class DigestFailure:
    """A document that failed during the day, with its stable error code."""

    company: str
    document: str
    error_code: str | None


@dataclass(frozen=True, slots=True)
class Digest:
    """What an advisor reads each morning about the previous day."""

    day: date
    advisor_name: str
    companies: tuple[DigestCompany, ...]
    failures: tuple[DigestFailure, ...] = ()

    @property
    def is_empty(self) -> bool:
        return not any(c.received or c.failed or c.needs_review for c in self.companies)


_SIGNATURE: Final = "— Papeleo, el archivo de documentos de tu asesoría"
_MAX_FAILURES_LISTED: Final = 50


def _one_line(value: str | None, fallback: str) -> str:
    # Names come from users: keep them on one line (and out of header injection).
    return " ".join((value or "").split()) or fallback


def spanish_period(period: str) -> str:
    """A payroll period ``"2026-03"`` → ``"marzo de 2026"``; anything else is shown as is."""
    year, _, month = period.partition("-")
    if year.isdigit() and month.isdigit() and 1 <= int(month) <= 12:
        return f"{MONTHS[int(month) - 1]} de {year}"
    return period


def _reason(error_code: str | None) -> str:
    try:
        code = ErrorCode(error_code) if error_code else ErrorCode.internal_error
    except ValueError:
        code = ErrorCode.internal_error
    return user_message(code, "es")


def _html_page(title: str, paragraphs: list[str], link: str | None, extra: str = "") -> str:
    """A minimal, inline-styled HTML e-mail; ``paragraphs`` are already escaped."""
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    button = (
        f'<p><a href="{html.escape(link, quote=True)}" style="background:#1f6feb;color:#fff;'
        'padding:8px 14px;border-radius:4px;text-decoration:none">Abrir en el portal</a></p>'
        if link
        else ""
    )
    return (
        '<!DOCTYPE html><html lang="es"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title></head>"
        '<body style="font-family:Arial,Helvetica,sans-serif;color:#1b1f23;max-width:640px">'
        f"<h2>{html.escape(title)}</h2>{body}{extra}{button}"
        f'<p style="color:#6a737d;font-size:12px">{html.escape(_SIGNATURE)}</p></body></html>'
    )


def _text_page(paragraphs: list[str], link: str | None, extra: str = "") -> str:
    lines = [*paragraphs]
    if extra:
        lines.append(extra)
    if link:
        lines.append(f"Ábrelo en el portal: {link}")
    lines.append(_SIGNATURE)
    return "\n\n".join(lines) + "\n"


def document_email(
    *,
    event: NotifyEvent,
    display_name: str,
    company_name: str,
    category: str | None = None,
    error_code: str | None = None,
    link: str | None = None,
) -> EmailContent:
    """The e-mail for a processed, failed or needs-review document.

    ``error_code`` (an ErrorCode value) explains a failure in a sentence the reader can act on.
    """
    status = {
        NotifyEvent.document_processed: "processed",
        NotifyEvent.document_failed: "failed",
        NotifyEvent.document_needs_review: "needs_review",
    }[event]
    text = document_notification(
        status=status, display_name=display_name, category=category, error_code=error_code
    )
    company = _one_line(company_name, "tu empresa")
    name = _one_line(display_name, "documento")
    subject = f"{text.title}: {name} ({company})"
    paragraphs = [text.body, f"Empresa: {company}"]
    return EmailContent(
        subject=subject,
        text=_text_page(paragraphs, link),
        html=_html_page(text.title, [html.escape(p) for p in paragraphs], link),
    )


def client_document_notification(
    *, display_name: str, company_name: str, uploader_name: str, category: str | None
) -> NotificationText:
    """In-app text telling an advisor that a client sent a document."""
    name = _one_line(display_name, "documento")
    company = _one_line(company_name, "un cliente")
    who = _one_line(uploader_name, "un usuario")
    folder = f" en {category_label(category)}" if category else ""
    return NotificationText(
        title=f"Nuevo documento de {company}",
        body=f"{who} ha enviado «{name}»{folder}.",
    )


def client_document_email(
    *,
    display_name: str,
    company_name: str,
    uploader_name: str,
    category: str | None,
    link: str | None = None,
) -> EmailContent:
    """The e-mail telling an advisor that a client sent a document."""
    text = client_document_notification(
        display_name=display_name,
        company_name=company_name,
        uploader_name=uploader_name,
        category=category,
    )
    return EmailContent(
        subject=text.title,
        text=_text_page([text.body], link),
        html=_html_page(text.title, [html.escape(text.body)], link),
    )


def payslips_ready_notification(
    *, company_name: str, period: str, employees: int
) -> NotificationText:
    """In-app text: the payslip file of ``period`` (``YYYY-MM``) can be downloaded."""
    company = _one_line(company_name, "tu empresa")
    count = "1 nómina" if employees == 1 else f"{employees} nóminas"
    return NotificationText(
        title=f"Nóminas de {spanish_period(period)} disponibles",
        body=f"El fichero de nóminas de {company} ({count}) ya se puede descargar.",
    )


def payslips_ready_email(
    *, company_name: str, period: str, employees: int, link: str | None = None
) -> EmailContent:
    """The e-mail telling the requester that the payslip file is ready (no file attached)."""
    text = payslips_ready_notification(
        company_name=company_name, period=period, employees=employees
    )
    # The download link is short-lived and signed: the portal issues it, never the e-mail.
    note = "Por seguridad, el fichero no se adjunta: descárgalo desde el portal."
    return EmailContent(
        subject=f"{text.title} · {_one_line(company_name, 'tu empresa')}",
        text=_text_page([text.body, note], link),
        html=_html_page(text.title, [html.escape(text.body), html.escape(note)], link),
    )


def digest_email(digest: Digest, *, link: str | None = None) -> EmailContent:
    """The advisors' daily digest: per company received/processed/failed/review, then failures."""
    day = long_date(digest.day)
    greeting = f"Hola, {_one_line(digest.advisor_name, 'equipo')}:"
    total = sum(c.received for c in digest.companies)
    failed = sum(c.failed for c in digest.companies)
    review = sum(c.needs_review for c in digest.companies)
    summary = (
        f"El {day} tus clientes enviaron {total} documento(s); "
        f"{failed} no se pudieron procesar y {review} necesitan revisión."
    )
    rows = sorted(digest.companies, key=lambda c: (-c.received, c.name))
    text_rows = [
        f"- {_one_line(c.name, '?')}: {c.received} recibidos, {c.processed} procesados, "
        f"{c.failed} con error, {c.needs_review} por revisar"
        for c in rows
    ]
    failures = digest.failures[:_MAX_FAILURES_LISTED]
    text_failures = [
        f"- {_one_line(f.company, '?')} · «{_one_line(f.document, 'documento')}»: "
        f"{_reason(f.error_code)}"
        for f in failures
    ]
    more = len(digest.failures) - len(failures)
    if more > 0:
        text_failures.append(f"- … y {more} más")
    text_extra = "Por empresa:\n" + "\n".join(text_rows)
    if text_failures:
        text_extra += "\n\nDocumentos con error:\n" + "\n".join(text_failures)

    cell = 'style="border:1px solid #d0d7de;padding:4px 8px"'
    table_rows = "".join(
        f"<tr><td {cell}>{html.escape(_one_line(c.name, '?'))}</td><td {cell}>{c.received}</td>"
        f"<td {cell}>{c.processed}</td><td {cell}>{c.failed}</td>"
        f"<td {cell}>{c.needs_review}</td></tr>"
        for c in rows
    )
    html_extra = (
        '<table style="border-collapse:collapse"><thead><tr>'
        + "".join(
            f"<th {cell}>{h}</th>"
            for h in ("Empresa", "Recibidos", "Procesados", "Con error", "Por revisar")
        )
        + f"</tr></thead><tbody>{table_rows}</tbody></table>"
    )
    if text_failures:
        html_extra += (
            "<h3>Documentos con error</h3><ul>"
            + "".join(f"<li>{html.escape(line[2:])}</li>" for line in text_failures)
            + "</ul>"
        )
    return EmailContent(
        subject=f"Resumen diario de documentos · {day}",
        text=_text_page([greeting, summary], link, text_extra),
        html=_html_page(
            f"Resumen diario · {day}",
            [html.escape(greeting), html.escape(summary)],
            link,
            html_extra,
        ),
    )
