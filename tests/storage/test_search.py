from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.db import make_engine, make_session_factory
from storage.models import Advisory, Company, Document
from storage.search import count_matches, fts5_query, index_document, matches


@pytest.fixture
def session(database_url: str) -> Iterator[Session]:
    engine = make_engine(database_url)
    with make_session_factory(engine)() as session:
        yield session
    engine.dispose()


def add(session: Session, company: Company, name: str, text: str) -> Document:
    document = Document(
        company_id=company.id,
        fiscal_year=2026,
        original_name=name,
        display_name=name,
        sha256="0" * 64,
        size=1,
        original_key=f"k/{name}",
        text=text,
    )
    session.add(document)
    session.flush()
    index_document(session, document)
    return document


def found(session: Session, company: Company, query: str) -> set[str]:
    rows = session.scalars(
        select(Document.display_name).where(
            Document.company_id == company.id, matches(session, query)
        )
    )
    return set(rows)


def test_spanish_full_text_with_accents_folded(session: Session):
    advisory = Advisory(code="6", name="A")
    session.add(advisory)
    session.flush()
    mine = Company(advisory_id=advisory.id, nif="B12345674", name="Mine")
    theirs = Company(advisory_id=advisory.id, nif="B86561412", name="Theirs")
    session.add_all([mine, theirs])
    session.flush()
    add(session, mine, "gasolinera.jpg", "REPSOL ESTACIÓN DE SERVICIO\nGasóleo A 45,20 €")
    add(session, mine, "nomina.pdf", "Recibo de salarios. Líquido a percibir 1.530,22")
    add(session, theirs, "otra.pdf", "Estación de servicio del vecino")
    session.commit()

    assert found(session, mine, "repsol") == {"gasolinera.jpg"}
    assert found(session, mine, "estacion") == {"gasolinera.jpg"}  # accent folded
    assert found(session, mine, "Líquido percibir") == {"nomina.pdf"}
    assert found(session, mine, "gasolinera") == {"gasolinera.jpg"}  # the name is indexed too
    assert found(session, mine, "inexistente") == set()
    assert found(session, theirs, "estación") == {"otra.pdf"}


def test_reindexing_replaces_the_old_text(session: Session):
    advisory = Advisory(code="6", name="A")
    session.add(advisory)
    session.flush()
    company = Company(advisory_id=advisory.id, nif="B12345674", name="Mine")
    session.add(company)
    session.flush()
    document = add(session, company, "doc.pdf", "primera versión")
    document.text = "segunda redacción"
    index_document(session, document)
    session.commit()
    assert found(session, company, "primera") == set()
    assert found(session, company, "segunda") == {"doc.pdf"}


def test_fts5_query_neutralises_syntax():
    assert fts5_query('factura OR "x" NEAR(') == '"factura" "OR" """x""" "NEAR("'
    assert fts5_query("   ") == '""'


def test_count_matches_counts_a_company_s_matches_up_to_a_limit(session: Session):
    advisory = Advisory(code="6", name="A")
    session.add(advisory)
    session.flush()
    mine = Company(advisory_id=advisory.id, nif="B12345674", name="Mine")
    theirs = Company(advisory_id=advisory.id, nif="B86561412", name="Theirs")
    session.add_all([mine, theirs])
    session.flush()
    for index in range(4):
        add(session, mine, f"f{index}.pdf", "Factura de compra")
    add(session, mine, "n.pdf", "Nómina de marzo")
    add(session, theirs, "t.pdf", "Factura ajena")
    session.commit()

    assert count_matches(session, "factura", mine.id, 10) == 4
    assert count_matches(session, "factura", mine.id, 3) == 3
    assert count_matches(session, "factura", theirs.id, 10) == 1
    assert count_matches(session, "nomina", theirs.id, 10) == 0
