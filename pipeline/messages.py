"""Notification texts for documents (Spanish first, English for the few who ask)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from pipeline.classify import Category
from pipeline.errors import ErrorCode, user_message


@dataclass(frozen=True, slots=True)
class NotificationText:
    """What a person reads in the app, in an e-mail subject/body or a push notification."""

    title: str
    body: str


# The folder names the portal shows, per category and language.
CATEGORY_LABELS: Final[dict[Category, dict[str, str]]] = {
    Category.factura_recibida: {"es": "Facturas recibidas", "en": "Received invoices"},
    Category.factura_emitida: {"es": "Facturas emitidas", "en": "Issued invoices"},
    Category.ticket: {"es": "Tickets", "en": "Receipts"},
    Category.nomina: {"es": "Nóminas", "en": "Payslips"},
    Category.modelo_aeat: {"es": "Modelos AEAT", "en": "Tax forms (AEAT)"},
    Category.seguros_sociales: {"es": "Seguros sociales", "en": "Social security"},
    Category.extracto_bancario: {"es": "Extractos bancarios", "en": "Bank statements"},
    Category.contrato: {"es": "Contratos", "en": "Contracts"},
    Category.otros: {"es": "Otros documentos", "en": "Other documents"},
}

_TEXTS: Final[dict[str, dict[str, str]]] = {
    "es": {
        "processed_title": "Documento procesado",
        "processed_body": "«{name}» se ha procesado y archivado en {folder}.",
        "processed_body_plain": "«{name}» se ha procesado y archivado.",
        "failed_title": "No se ha podido procesar un documento",
        "failed_body": "No se ha podido procesar «{name}». {reason}",
        "review_title": "Documento pendiente de revisión",
        "review_body": "«{name}» necesita revisión: comprueba que su categoría ({folder}) es "
                       "la correcta.",
        "review_body_plain": "«{name}» necesita revisión antes de archivarse.",
    },
    "en": {
        "processed_title": "Document processed",
        "processed_body": "“{name}” has been processed and filed in {folder}.",
        "processed_body_plain": "“{name}” has been processed and filed.",
        "failed_title": "A document could not be processed",
        "failed_body": "“{name}” could not be processed. {reason}",
        "review_title": "Document needs review",
        "review_body": "“{name}” needs review: check that its category ({folder}) is right.",
        "review_body_plain": "“{name}” needs review before it is filed.",
    },
}
STATUSES: Final = frozenset({"processed", "failed", "needs_review"})


def category_label(category: str, lang: str = "es") -> str:
    """The folder name shown for ``category``; unknown categories are shown as they are."""
    try:
        labels = CATEGORY_LABELS[Category(category)]
    except ValueError:
        return category
    return labels.get(lang, labels["es"])


def document_notification(
    *,
    status: str,
    display_name: str,
    category: str | None = None,
    error_code: str | None = None,
    lang: str = "es",
) -> NotificationText:
    """The title and body telling someone a document was processed, failed or needs review.

    ``status`` is "processed", "failed" or "needs_review"; ``error_code`` (an ErrorCode
    value) explains a failure; unknown languages fall back to Spanish.
    """
    if status not in STATUSES:
        raise ValueError(f"unknown document status {status!r}")
    lang = lang if lang in _TEXTS else "es"
    texts = _TEXTS[lang]
    # Names come from users: keep them on one line.
    name = " ".join(display_name.split()) or "documento"
    folder = category_label(category, lang) if category else None

    if status == "failed":
        try:
            code = ErrorCode(error_code) if error_code else ErrorCode.internal_error
        except ValueError:
            code = ErrorCode.internal_error
        body = texts["failed_body"].format(name=name, reason=user_message(code, lang))
        return NotificationText(texts["failed_title"], body)
    key = "processed" if status == "processed" else "review"
    body_key = f"{key}_body" if folder else f"{key}_body_plain"
    return NotificationText(texts[f"{key}_title"], texts[body_key].format(name=name, folder=folder))
