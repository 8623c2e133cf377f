"""XML uploads (Facturae .xml / .xsig) are recognised by their bytes."""

from __future__ import annotations

import pytest

from pipeline.errors import DocumentError
from pipeline.filetype import FileType, detect_type


@pytest.mark.parametrize(
    "head",
    [
        b'<?xml version="1.0" encoding="UTF-8"?>\n<fe:Facturae xmlns:fe="x">',
        b'\xef\xbb\xbf<?xml version="1.0"?><ds:Signature>',
        b"\n  <fe:Facturae xmlns:fe='http://www.facturae.gob.es/formato/Versiones/'>",
    ],
)
def test_xml_is_detected(head: bytes) -> None:
    assert detect_type(head) is FileType.XML


def test_plain_text_is_still_unsupported() -> None:
    with pytest.raises(DocumentError):
        detect_type(b"Hola, te paso la factura <por correo>.")
