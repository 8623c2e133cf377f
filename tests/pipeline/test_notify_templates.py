"""Spanish notification templates: subjects, plain text, escaped HTML, periods, the digest."""

from __future__ import annotations

from datetime import date

import pytest

from pipeline.errors import ErrorCode, user_message
from pipeline.notify_templates import (
    Digest,
    DigestCompany,
    DigestFailure,
    NotifyEvent,
    client_document_email,
    digest_email,
    document_email,
    long_date,
    payslips_ready_email,
    spanish_period,
)


def test_processed_email_is_spanish_and_names_the_folder():
    mail = document_email(
        event=NotifyEvent.document_processed,
        display_name="Ticket Mercadona",
        company_name="Bar Pepe SL",
        category="ticket",
        link="https://portal.example.es/documents/abc",
    )
    assert mail.subject == "Documento procesado: Ticket Mercadona (Bar Pepe SL)"
    assert "«Ticket Mercadona» se ha procesado y archivado en Tickets." in mail.text
    assert "Ábrelo en el portal: https://portal.example.es/documents/abc" in mail.text
    assert 'href="https://portal.example.es/documents/abc"' in mail.html
    assert '<html lang="es">' in mail.html


@pytest.mark.parametrize("code", list(ErrorCode))
def test_failed_email_gives_the_reason_a_person_can_act_on(code):
    mail = document_email(
        event=NotifyEvent.document_failed,
        display_name="scan.pdf",
        company_name="Bar Pepe SL",
        error_code=code.value,
    )
    assert mail.subject.startswith("No se ha podido procesar un documento")
    assert user_message(code, "es") in mail.text


def test_unknown_error_codes_fall_back_to_the_generic_reason():
    mail = document_email(
        event=NotifyEvent.document_failed,
        display_name="x.pdf",
        company_name="A",
        error_code="something_new",
    )
    assert user_message(ErrorCode.internal_error, "es") in mail.text


def test_user_text_is_escaped_in_html_and_kept_on_one_line_in_the_subject():
    mail = client_document_email(
        display_name='<img src=x onerror="alert(1)">\r\nBcc: evil@example.com',
        company_name="Tom & Jerry <SL>",
        uploader_name="Ana",
        category=None,
    )
    assert "\n" not in mail.subject
    assert "\r" not in mail.subject
    assert "<img" not in mail.html
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in mail.html
    assert "Tom &amp; Jerry &lt;SL&gt;" in mail.html
    assert mail.subject == "Nuevo documento de Tom & Jerry <SL>"


def test_needs_review_email():
    mail = document_email(
        event=NotifyEvent.document_needs_review,
        display_name="f.pdf",
        company_name="A SL",
        category="factura_emitida",
    )
    assert mail.subject.startswith("Documento pendiente de revisión")
    assert "comprueba que su categoría (Facturas emitidas) es la correcta" in mail.text


def test_periods_and_dates_in_spanish():
    assert spanish_period("2026-03") == "marzo de 2026"
    assert spanish_period("2026-12") == "diciembre de 2026"
    assert spanish_period("2026-T1") == "2026-T1"
    assert spanish_period("2026-13") == "2026-13"
    assert long_date(date(2026, 1, 9)) == "9 de enero de 2026"


def test_payslips_ready_email_never_carries_the_file_or_a_link_by_itself():
    mail = payslips_ready_email(company_name="Bar Pepe SL", period="2026-02", employees=1)
    assert mail.subject == "Nóminas de febrero de 2026 disponibles · Bar Pepe SL"
    assert "(1 nómina) ya se puede descargar" in mail.text
    assert "no se adjunta" in mail.text
    assert "http" not in mail.text


def test_digest_lists_companies_by_volume_and_every_failure_reason():
    digest = Digest(
        day=date(2026, 3, 5),
        advisor_name="Luis",
        companies=(
            DigestCompany("Bar Pepe SL", received=1, processed=1, failed=0, needs_review=0),
            DigestCompany("Taller <Luis>", received=4, processed=2, failed=1, needs_review=1),
        ),
        failures=(DigestFailure("Taller <Luis>", "cifrado.pdf", "needs_password"),),
    )
    mail = digest_email(digest)
    assert mail.subject == "Resumen diario de documentos · 5 de marzo de 2026"
    text = mail.text
    assert "El 5 de marzo de 2026 tus clientes enviaron 5 documento(s)" in text
    assert "1 no se pudieron procesar y 1 necesitan revisión" in text
    assert text.index("Taller <Luis>: 4 recibidos") < text.index("Bar Pepe SL: 1 recibidos")
    assert f"«cifrado.pdf»: {user_message(ErrorCode.needs_password, 'es')}" in text
    assert "Taller &lt;Luis&gt;" in mail.html
    assert "<td" in mail.html


def test_digest_caps_the_failure_list():
    failures = tuple(DigestFailure("A", f"f{i}.pdf", "corrupt_file") for i in range(60))
    digest = Digest(
        day=date(2026, 3, 5),
        advisor_name="",
        companies=(DigestCompany("A", 60, 0, 60, 0),),
        failures=failures,
    )
    mail = digest_email(digest)
    assert "… y 10 más" in mail.text
    assert "Hola, equipo:" in mail.text
    assert Digest(date(2026, 3, 5), "x", (DigestCompany("A", 0, 0, 0, 0),)).is_empty
    assert not digest.is_empty
