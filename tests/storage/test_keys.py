"""Tests of storage.keys: sanitised file names and the object key layout."""

from __future__ import annotations

import re

import pytest

from storage.keys import ObjectRole, company_prefix, object_key, safe_file_name

DOC_ID = "0123456789abcdef0123456789abcdef"
SAFE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Factura_Año 2026.pdf", "Factura_Ano_2026.pdf"),
        ("Nómina   marzo (1).PDF", "Nomina_marzo_1.pdf"),
        ("SCAN.PDF", "SCAN.pdf"),
        ("../../etc/passwd", "passwd"),
        ("..\\..\\win.ini", "win.ini"),
        ("C:\\Users\\ana\\factura.pdf", "factura.pdf"),
        ("a\uff0fb.pdf", "b.pdf"),  # FULLWIDTH SOLIDUS becomes "/" under NFKD
        ("evil.pdf\x00.exe", "evil.pdf.exe"),
        ("\x00\x00", "document"),
        ("  .bashrc", "bashrc"),
        (".bashrc", "bashrc"),
        ("-rf", "rf"),
        ("--help.txt", "help.txt"),
        ("..", "document"),
        (".", "document"),
        ("", "document"),
        ("/", "document"),
        ("dir/", "document"),
        ("😀😀😀", "document"),
        ("😀.pdf", "document.pdf"),
        ("ticket 😀 gasolinera.jpg", "ticket_gasolinera.jpg"),
        ("archive.tar.gz", "archive.tar.gz"),
        ("ﬁchero.txt", "fichero.txt"),
        ("factura__  __2026.pdf", "factura_2026.pdf"),
        ("ключ.pdf", "document.pdf"),
    ],
)
def test_safe_file_name(name: str, expected: str) -> None:
    assert safe_file_name(name) == expected


def test_safe_file_name_custom_default() -> None:
    assert safe_file_name("😀", default="foto") == "foto"
    assert safe_file_name("😀.jpg", default="foto") == "foto.jpg"


def test_unsafe_default_is_refused() -> None:
    with pytest.raises(ValueError):
        safe_file_name("😀", default="../x")


def test_long_name_is_cut_to_120_keeping_lowercased_extension() -> None:
    name = "Factura " + "x" * 300 + ".PDF"
    result = safe_file_name(name)
    assert len(result) == 120
    assert result.endswith(".pdf")
    assert result.startswith("Factura_xxx")


def test_long_name_without_extension() -> None:
    assert safe_file_name("a" * 500) == "a" * 120


def test_overlong_suffix_is_not_an_extension() -> None:
    result = safe_file_name("x." + "y" * 300)
    assert len(result) == 120
    assert SAFE.fullmatch(result)


def test_cut_does_not_leave_trailing_separator() -> None:
    # The 116th character is "_" here; the cut name must not end in "_.pdf".
    result = safe_file_name("a" * 115 + " bbbbbbbb.pdf")
    assert result == "a" * 115 + ".pdf"


@pytest.mark.parametrize(
    "name",
    ["../../etc/passwd", "\x00", "a" * 10_000, "🙂" * 50, " \t\n", "...", "__init__.py", "x/../.."],
)
def test_result_is_always_one_safe_segment(name: str) -> None:
    result = safe_file_name(name)
    assert SAFE.fullmatch(result)
    assert len(result) <= 120
    assert result not in {".", ".."}


def test_object_key_layout() -> None:
    key = object_key(7, 2026, DOC_ID, ObjectRole.ORIGINAL, "Factura_Año 2026.pdf")
    assert key == f"companies/7/2026/{DOC_ID}/original/Factura_Ano_2026.pdf"


@pytest.mark.parametrize("role", list(ObjectRole))
def test_object_key_every_role(role: ObjectRole) -> None:
    assert object_key(1, 2026, DOC_ID, role, "x.pdf").split("/")[4] == role.value


def test_object_key_sanitises_traversal() -> None:
    key = object_key(1, 2026, DOC_ID, ObjectRole.BUNDLE, "../../../../etc/passwd")
    assert key == f"companies/1/2026/{DOC_ID}/bundle/passwd"
    assert ".." not in key.split("/")


def test_roles() -> None:
    assert [role.value for role in ObjectRole] == [
        "original",
        "normalized",
        "archive",
        "payslip",
        "bundle",
        "decrypted",
        "ocr-pages",
    ]
    assert f"{ObjectRole.PAYSLIP}" == "payslip"


@pytest.mark.parametrize(
    ("company_id", "fiscal_year", "document_id", "role"),
    [
        (0, 2026, DOC_ID, ObjectRole.ORIGINAL),
        (-1, 2026, DOC_ID, ObjectRole.ORIGINAL),
        (True, 2026, DOC_ID, ObjectRole.ORIGINAL),
        ("1", 2026, DOC_ID, ObjectRole.ORIGINAL),
        (1.0, 2026, DOC_ID, ObjectRole.ORIGINAL),
        (1, 1899, DOC_ID, ObjectRole.ORIGINAL),
        (1, 3000, DOC_ID, ObjectRole.ORIGINAL),
        (1, "2026", DOC_ID, ObjectRole.ORIGINAL),
        (1, 2026, DOC_ID.upper(), ObjectRole.ORIGINAL),
        (1, 2026, DOC_ID[:-1], ObjectRole.ORIGINAL),
        (1, 2026, DOC_ID + "\n", ObjectRole.ORIGINAL),
        (1, 2026, "../" + DOC_ID[3:], ObjectRole.ORIGINAL),
        (1, 2026, "01234567-89ab-cdef-0123-456789abcdef", ObjectRole.ORIGINAL),
        (1, 2026, DOC_ID, "../x"),
        (1, 2026, DOC_ID, "secret"),
    ],
)
def test_object_key_rejects_bad_parts(company_id, fiscal_year, document_id, role) -> None:
    with pytest.raises(ValueError):
        object_key(company_id, fiscal_year, document_id, role, "x.pdf")


def test_object_key_accepts_role_value_string() -> None:
    assert object_key(1, 1900, DOC_ID, "archive", "x.pdf").startswith("companies/1/1900/")  # type: ignore[arg-type]
    assert object_key(1, 2999, DOC_ID, ObjectRole.ARCHIVE, "x.pdf").startswith("companies/1/2999/")


def test_company_prefix() -> None:
    assert company_prefix(42) == "companies/42/"
    assert object_key(42, 2026, DOC_ID, ObjectRole.ORIGINAL, "a.pdf").startswith(company_prefix(42))
    # companies/4/ must not be a prefix of companies/42/...
    assert not object_key(42, 2026, DOC_ID, ObjectRole.ORIGINAL, "a.pdf").startswith(
        company_prefix(4)
    )


@pytest.mark.parametrize("company_id", [0, -5, True, "3"])
def test_company_prefix_rejects_bad_ids(company_id) -> None:
    with pytest.raises(ValueError):
        company_prefix(company_id)
