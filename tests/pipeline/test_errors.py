from __future__ import annotations

import copy
import pickle

import pytest

from pipeline.errors import DocumentError, ErrorCode, user_message


@pytest.mark.parametrize("code", list(ErrorCode))
@pytest.mark.parametrize("lang", ["es", "en"])
def test_every_code_has_an_actionable_sentence(code: ErrorCode, lang: str) -> None:
    message = user_message(code, lang)
    assert message.endswith(".")
    assert ";" in message  # what happened; what to do
    assert code.value not in message  # people read sentences, not codes


def test_spanish_and_english_differ_and_spanish_is_default() -> None:
    assert user_message(ErrorCode.needs_password) == (
        "El PDF está protegido con contraseña; "
        "reinténtalo indicando la contraseña o súbelo sin ella."
    )
    assert user_message(ErrorCode.needs_password, "en") == (
        "The PDF is password-protected; retry it with its password or upload it without one."
    )
    assert user_message(ErrorCode.timeout, "fr") == user_message(ErrorCode.timeout, "es")


def test_document_error_carries_code_and_detail() -> None:
    error = DocumentError(ErrorCode.corrupt_file, "xref broken at 1234")
    assert error.code is ErrorCode.corrupt_file
    assert error.detail == "xref broken at 1234"
    assert "corrupt_file" in str(error)
    assert DocumentError(ErrorCode.timeout).detail == ""


def test_document_error_survives_pickling_and_copy() -> None:
    # Celery and pytest-xdist move exceptions between processes.
    error = DocumentError(ErrorCode.needs_password, "AES-256")
    for clone in (pickle.loads(pickle.dumps(error)), copy.copy(error)):
        assert (clone.code, clone.detail) == (ErrorCode.needs_password, "AES-256")


def test_codes_are_stable_strings() -> None:
    assert ErrorCode("needs_password") is ErrorCode.needs_password
    assert {c.value for c in ErrorCode} == {
        "empty_file",
        "unsupported_type",
        "corrupt_file",
        "needs_password",
        "too_many_pages",
        "image_too_large",
        "file_too_large",
        "ocr_failed",
        "storage_unavailable",
        "timeout",
        "internal_error",
    }
