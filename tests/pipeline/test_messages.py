from __future__ import annotations

import pytest

from pipeline.classify import Category
from pipeline.errors import ErrorCode, user_message
from pipeline.messages import CATEGORY_LABELS, NotificationText, document_notification


def test_processed_in_spanish() -> None:
    text = document_notification(
        status="processed", display_name="factura.pdf", category="factura_recibida"
    )
    assert text == NotificationText(
        "Documento procesado", "«factura.pdf» se ha procesado y archivado en Facturas recibidas."
    )


def test_failed_explains_the_reason() -> None:
    text = document_notification(
        status="failed", display_name="nomina.pdf", error_code="needs_password"
    )
    assert text.title == "No se ha podido procesar un documento"
    assert "«nomina.pdf»" in text.body
    assert user_message(ErrorCode.needs_password) in text.body


def test_failed_without_a_known_code_still_reads_well() -> None:
    for code in (None, "something_new"):
        text = document_notification(status="failed", display_name="x.pdf", error_code=code)
        assert user_message(ErrorCode.internal_error) in text.body


def test_needs_review_names_the_folder() -> None:
    text = document_notification(
        status="needs_review", display_name="IMG_1234.HEIC", category="ticket"
    )
    assert text.title == "Documento pendiente de revisión"
    assert "Tickets" in text.body


def test_english_on_request() -> None:
    text = document_notification(
        status="processed", display_name="a.pdf", category="nomina", lang="en"
    )
    assert text.title == "Document processed"
    assert "Payslips" in text.body


def test_every_category_has_spanish_and_english_labels() -> None:
    assert set(CATEGORY_LABELS) == set(Category)
    assert CATEGORY_LABELS[Category.nomina]["es"] == "Nóminas"
    assert CATEGORY_LABELS[Category.modelo_aeat]["es"] == "Modelos AEAT"
    assert all({"es", "en"} <= set(labels) for labels in CATEGORY_LABELS.values())


def test_names_stay_on_one_line_and_unknown_status_is_an_error() -> None:
    text = document_notification(status="processed", display_name="a\nb.pdf")
    assert "«a b.pdf»" in text.body
    with pytest.raises(ValueError):
        document_notification(status="done", display_name="a.pdf")
