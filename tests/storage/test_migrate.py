from __future__ import annotations

from sqlalchemy import inspect

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
