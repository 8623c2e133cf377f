"""Stable error codes for documents that cannot be processed, and their user messages."""

from __future__ import annotations

from enum import StrEnum
from typing import Final


class ErrorCode(StrEnum):
    """Why a document failed; the API and the UI translate codes, nothing parses messages."""

    empty_file = "empty_file"
    unsupported_type = "unsupported_type"
    corrupt_file = "corrupt_file"
    needs_password = "needs_password"  # noqa: S105 - an error code, not a secret
    too_many_pages = "too_many_pages"
    image_too_large = "image_too_large"
    file_too_large = "file_too_large"
    ocr_failed = "ocr_failed"
    storage_unavailable = "storage_unavailable"
    timeout = "timeout"
    internal_error = "internal_error"


_MESSAGES: Final[dict[ErrorCode, dict[str, str]]] = {
    ErrorCode.empty_file: {
        "es": "El archivo está vacío; vuelve a subirlo.",
        "en": "The file is empty; upload it again.",
    },
    ErrorCode.unsupported_type: {
        "es": "Este tipo de archivo no se admite; sube un PDF o una foto (JPEG, PNG o HEIC).",
        "en": "This file type is not supported; upload a PDF or a photo (JPEG, PNG or HEIC).",
    },
    ErrorCode.corrupt_file: {
        "es": "El archivo está dañado o incompleto; vuelve a exportarlo o a subirlo.",
        "en": "The file is damaged or incomplete; export or upload it again.",
    },
    ErrorCode.needs_password: {
        "es": (
            "El PDF está protegido con contraseña; "
            "reinténtalo indicando la contraseña o súbelo sin ella."
        ),
        "en": "The PDF is password-protected; retry it with its password or upload it without one.",
    },
    ErrorCode.too_many_pages: {
        "es": "El documento tiene demasiadas páginas; divídelo en varios archivos.",
        "en": "The document has too many pages; split it into several files.",
    },
    ErrorCode.image_too_large: {
        "es": "La imagen es demasiado grande; súbela con una resolución menor.",
        "en": "The image is too large; upload it at a lower resolution.",
    },
    ErrorCode.file_too_large: {
        "es": "El archivo es demasiado grande; redúcelo o divídelo en varios archivos.",
        "en": "The file is too large; make it smaller or split it into several files.",
    },
    ErrorCode.ocr_failed: {
        "es": "No se ha podido leer el texto del documento; súbelo con mejor calidad.",
        "en": "The text of the document could not be read; upload a better-quality copy.",
    },
    ErrorCode.storage_unavailable: {
        "es": "El almacenamiento no está disponible ahora mismo; inténtalo de nuevo más tarde.",
        "en": "Storage is unavailable right now; try again later.",
    },
    ErrorCode.timeout: {
        "es": "El documento ha tardado demasiado en procesarse; inténtalo de nuevo o divídelo.",
        "en": "The document took too long to process; try again or split it.",
    },
    ErrorCode.internal_error: {
        "es": "Ha ocurrido un error interno; inténtalo de nuevo más tarde.",
        "en": "An internal error occurred; try again later.",
    },
}


def user_message(code: ErrorCode, lang: str = "es") -> str:
    """Return a short sentence a person can act on for ``code``, in Spanish or English.

    Unknown languages fall back to Spanish, the portal's language.
    """
    messages = _MESSAGES[ErrorCode(code)]
    return messages.get(lang, messages["es"])


class DocumentError(Exception):
    """A permanent failure for one document (retrying won't help).

    ``code`` is the stable reason shown to users; ``detail`` is technical context for logs.
    """

    def __init__(self, code: ErrorCode, detail: str = "") -> None:
        self.code = ErrorCode(code)
        self.detail = detail
        super().__init__(f"{self.code}: {detail}" if detail else str(self.code))

    def __reduce__(self) -> tuple[type[DocumentError], tuple[ErrorCode, str]]:
        # Keeps the exception picklable/copyable with its two arguments.
        return (type(self), (self.code, self.detail))
