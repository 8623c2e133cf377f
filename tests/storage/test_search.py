from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from storage.db import make_engine, make_session_factory
from storage.models import Advisory, Company, Document
from storage.search import count_matches, fts5_query, index_document, matches, ranked_matches


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

    assert count_matches(session, "factura", [mine.id], 10) == 4
    assert count_matches(session, "factura", [mine.id], 3) == 3
    assert count_matches(session, "factura", [theirs.id], 10) == 1
    assert count_matches(session, "nomina", [theirs.id], 10) == 0
    # An advisor's companies: one array parameter on PostgreSQL, the same counts.
    assert count_matches(session, "factura", [mine.id, theirs.id], 10) == 5
    assert count_matches(session, "factura", [mine.id, theirs.id], 2) == 2
    assert count_matches(session, "nomina", [theirs.id, mine.id], 10) == 1
    stranger = Company(advisory_id=advisory.id, nif="B00000000", name="Stranger")
    session.add(stranger)
    session.flush()
    assert count_matches(session, "factura", [theirs.id, stranger.id], 10) == 1


def test_ranked_matches_narrow_to_several_companies(session: Session):
    advisory = Advisory(code="6", name="A")
    session.add(advisory)
    session.flush()
    one, two, three = (
        Company(advisory_id=advisory.id, nif=f"B0000000{index}", name=f"C{index}")
        for index in range(3)
    )
    session.add_all([one, two, three])
    session.flush()
    mine = {add(session, c, f"{c.name}.pdf", "Factura de compra").id for c in (one, two)}
    add(session, three, "ajena.pdf", "Factura ajena")
    session.commit()

    def ranked(companies: list[int] | None) -> set[str]:
        found = ranked_matches(session, "factura", companies)
        return set(session.scalars(select(found.c.document_id)))

    assert ranked([one.id, two.id]) == mine
    assert ranked([one.id]) < mine
    assert len(ranked(None)) == 3


def test_postgres_computes_the_words_once(postgres_database: str):
    """search_unaccent is unaccent declared immutable: a plan holds the words as a constant
    instead of computing them again for every document it tests."""
    engine = make_engine(postgres_database)
    with engine.connect() as connection:
        volatility = connection.scalar(
            text("SELECT provolatile FROM pg_proc WHERE proname = 'search_unaccent'")
        )
        folded = connection.scalar(text("SELECT search_unaccent('Estación Gasóleo Ñ')"))
        plan = connection.scalars(
            text(
                "EXPLAIN SELECT 1 FROM document_search"
                " WHERE tsv @@ websearch_to_tsquery('spanish', search_unaccent('Gasóleo'))"
            )
        ).all()
    engine.dispose()
    assert volatility == "i"
    assert folded == "Estacion Gasoleo N"
    assert "'''gasole'''::tsquery" in "\n".join(plan)  # not search_unaccent(...)
