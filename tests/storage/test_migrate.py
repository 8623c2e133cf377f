from __future__ import annotations

import pytest
from sqlalchemy import inspect, text

from storage.db import make_engine
from storage.migrate import downgrade, upgrade
from storage.tables import metadata


def test_migration_creates_every_model_table_and_round_trips(database_url: str):
    engine = make_engine(database_url)
    tables = set(inspect(engine).get_table_names())
    assert set(metadata.tables) <= tables
    assert ("document_search" in tables) or ("document_fts" in tables)
    upgrade(database_url)  # idempotent
    downgrade(database_url, "base")
    assert not set(metadata.tables) & set(inspect(engine).get_table_names())
    upgrade(database_url)
    assert set(metadata.tables) <= set(inspect(engine).get_table_names())
    engine.dispose()


def test_migration_matches_the_models(database_url: str):
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    engine = make_engine(database_url)
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), metadata)
    engine.dispose()
    # Only the dialect's search table, which the models deliberately do not map, may differ.
    unexpected = [
        d
        for d in diff
        if not (d[0] == "remove_table" and d[1].name in {"document_search", "document_fts"})
        and not (d[0] == "remove_index" and d[1].table.name == "document_search")
        and not (d[0] == "remove_table" and d[1].name.startswith("document_fts_"))
    ]
    assert not unexpected, unexpected


def test_postgres_full_text_index_includes_the_company(postgres_database: str):
    """Where btree_gin exists, one GIN index on (company, words) replaces the words-only one."""
    engine = make_engine(postgres_database)
    with engine.connect() as connection:
        available = connection.scalar(
            text("SELECT 1 FROM pg_available_extensions WHERE name = 'btree_gin'")
        )
        options = connection.scalar(
            text("SELECT reloptions FROM pg_class WHERE relname = 'ix_document_search_company_tsv'")
        )
    indexes = {i["name"] for i in inspect(engine).get_indexes("document_search")}
    engine.dispose()
    if not available:
        assert "ix_document_search_tsv" in indexes
        pytest.skip("btree_gin is not installed on this server: the fallback index is used")
    assert "ix_document_search_company_tsv" in indexes
    assert "ix_document_search_tsv" not in indexes
    assert options == ["fastupdate=off"]  # searches never read a pending list
