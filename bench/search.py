"""Search benchmark: 1,000,000 documents in PostgreSQL; p50/p95 of typical portal queries.

Run: .venv/bin/python -m bench.search [--documents 1000000] [--url postgresql+psycopg://...]
Creates a scratch database (dropped at the end), migrates it, generates documents with
realistic Spanish text in SQL (generate_series, no round trips), indexes them the way the
index step does, then times the API's own query builder (ingest.history.history_page): for one
company, and for an advisor across all the advisory's companies (another advisory's clients,
spread among them, hold a fifth of the documents). Goal: p95 <= 50 ms.

Generating takes minutes: --keep keeps the database and prints its name; --reuse NAME migrates
a kept one to the current schema and only times the queries. Drop it afterwards with
DROP DATABASE NAME.
"""

from __future__ import annotations

import argparse
import statistics
import time
import uuid
from collections.abc import Callable
from datetime import date
from decimal import Decimal

import psycopg
from sqlalchemy import text
from sqlalchemy.engine import make_url

from ingest.history import DocumentFilters, Sort, history_page
from storage.db import make_engine, make_session_factory
from storage.migrate import upgrade

GENERATE = """
INSERT INTO advisories (id, code, name, created_at)
VALUES (1, 'B', 'Asesoría bench', now()), (2, 'C', 'Otra asesoría', now());
-- The other advisory's clients are spread among the bench advisory's, big and small alike.
INSERT INTO companies (id, advisory_id, nif, name, created_at)
SELECT c,
  CASE WHEN c * %(others)s / %(total)s > (c - 1) * %(others)s / %(total)s THEN 2 ELSE 1 END,
  'B' || lpad(c::text, 8, '0'), 'Empresa ' || c, now()
FROM generate_series(1, %(total)s) c;
INSERT INTO users
  (id, advisory_id, username, full_name, role, password_hash, is_active, created_at)
VALUES (1, 1, 'bench', 'Bench', 'client', 'x', true, now());
-- Company sizes are skewed: company k gets a share proportional to 1/k^0.8 (a few big clients).
CREATE TEMP TABLE words AS SELECT * FROM (VALUES
 (ARRAY['factura','ticket','recibo','nómina','modelo','contrato','extracto','póliza']),
 (ARRAY['Repsol','Mercadona','Telefónica','Iberdrola','Endesa','Makro','Leroy Merlin','Vodafone',
        'Carrefour','El Corte Inglés','Gasolinera Cepsa','Ferretería López','Bar Casa Pepe']),
 (ARRAY['gasóleo','electricidad','alquiler del local','material de oficina','comida de trabajo',
        'suministro de agua','telefonía móvil','reparación de furgoneta','asesoría laboral',
        'seguro de responsabilidad civil','cuota de autónomos','publicidad en redes'])
) AS t(w);
INSERT INTO documents (id, company_id, fiscal_year, uploaded_by, source, category,
  predicted_category, category_confidence, original_name, display_name, sha256, size,
  original_key, status, run, text, ocr_pages, fields, created_at, updated_at, indexed_at,
  total_amount, issuer_nif, document_date)
SELECT md5(g::text || 'doc'),
  1 + floor(%(total)s * power(random(), 2.5))::int,
  2023 + (g %% 4),
  1, 'app',
  (ARRAY['factura_recibida','factura_emitida','ticket','nomina','modelo_aeat','otros'])
    [1 + g %% 6],
  NULL, 0.8,
  'doc' || g || '.pdf', 'doc' || g || '.pdf', md5(g::text), 1000 + g %% 50000,
  'k/' || g,
  (ARRAY['indexed','indexed','indexed','indexed','indexed','indexed','failed','queued'])
    [1 + g %% 8],
  1,
  initcap(w1[1 + g %% 8]) || ' de ' || w2[1 + (g / 7) %% 13] || E'\\nConcepto: ' ||
    w3[1 + (g / 3) %% 12] || ' y ' || w3[1 + (g / 11) %% 12] ||
    E'\\nFecha ' || to_char(date '2023-01-01' + (g %% 1400), 'DD/MM/YYYY') ||
    E'\\nBase imponible ' || round((g %% 2000)::numeric + 0.5, 2) || ' IVA 21%% TOTAL ' ||
    round((g %% 2000) * 1.21 + 0.6, 2) || E' EUR\\nNIF ' || 'A' || lpad((g %% 5000)::text, 8, '0'),
  '[]', '{}',
  timestamptz '2023-01-01' + (g || ' minutes')::interval,
  now(), now(),
  round((g %% 2000) * 1.21 + 0.6, 2),
  'A' || lpad((g %% 5000)::text, 8, '0'),
  date '2023-01-01' + (g %% 1400)
FROM generate_series(1, %(documents)s) g,
  (SELECT (SELECT w FROM words LIMIT 1 OFFSET 0) w1, (SELECT w FROM words LIMIT 1 OFFSET 1) w2,
          (SELECT w FROM words LIMIT 1 OFFSET 2) w3) w;
INSERT INTO document_search (document_id, company_id, tsv)
SELECT id, company_id,
  setweight(to_tsvector('spanish',
    unaccent(regexp_replace(display_name, '[._/-]+', ' ', 'g'))), 'A')
  || to_tsvector('spanish', unaccent(text))
FROM documents;
ANALYZE;
"""


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--documents", type=int, default=1_000_000)
    parser.add_argument("--companies", type=int, default=2_000, help="the bench advisory's")
    parser.add_argument(
        "--other-companies", type=int, default=500, help="another advisory's, which it must not see"
    )
    parser.add_argument("--runs", type=int, default=60)
    parser.add_argument("--url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    parser.add_argument(
        "--reuse", metavar="NAME", help="only time the queries on a kept scratch database"
    )
    args = parser.parse_args()

    base = make_url(args.url)
    if args.reuse:
        url = base.set(database=args.reuse).render_as_string(hide_password=False)
        upgrade(url)  # new migrations (indexes) reach a kept database too
        with psycopg.connect(base.set(drivername="postgresql", database=args.reuse)
                             .render_as_string(hide_password=False)) as connection:
            connection.execute("ANALYZE")  # statistics of new expression indexes
        run_queries(url, args.runs)
        return
    admin = base.set(drivername="postgresql").render_as_string(hide_password=False)
    name = f"papeleo_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    url = base.set(database=name).render_as_string(hide_password=False)
    try:
        upgrade(url)
        started = time.perf_counter()
        scratch = base.set(drivername="postgresql", database=name)
        with psycopg.connect(scratch.render_as_string(hide_password=False)) as connection:
            total = args.companies + args.other_companies
            connection.execute(GENERATE % {
                "documents": args.documents, "total": total, "others": args.other_companies
            })
        print(f"generated and indexed {args.documents:,} documents of {total:,} companies "
              f"({args.other_companies:,} of another advisory) in "
              f"{time.perf_counter() - started:.0f} s")
        run_queries(url, args.runs)
    finally:
        if args.keep:
            print(f"kept the scratch database {name}; time it again with --reuse {name}")
        else:
            with psycopg.connect(admin, autocommit=True) as connection:
                connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run_queries(url: str, runs: int) -> None:
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    with sessions() as session:
        sizes = session.execute(
            text(
                "SELECT company_id, count(*) FROM documents GROUP BY 1 ORDER BY 2 DESC"
            )
        ).all()
        advisories = session.execute(
            text("SELECT advisory_id, array_agg(id ORDER BY id) FROM companies"
                 " GROUP BY 1 ORDER BY 1")
        ).all()
    bench, other = advisories[0][1], advisories[1][1] if len(advisories) > 1 else []
    mine = set(bench)
    own = [(company, count) for company, count in sizes if company in mine]
    biggest, big_count = own[0]
    median_company, median_count = own[len(own) // 2]
    # An advisor narrowing to a few clients (?company=...), big and small ones alike.
    few = [company for company, _ in own[:: max(1, len(own) // 10)]][:10]
    advisory_count = sum(count for _, count in own)
    print(f"biggest company: {big_count:,} documents; median company: {median_count:,}; "
          f"advisor: {len(bench):,} companies, {advisory_count:,} documents; "
          f"another advisory: {len(other):,} companies")
    cursor_holder: dict[str, str | None] = {}

    def page(companies: int | list[int], filters: DocumentFilters, sort: Sort | None = None,
             deep: bool = False) -> Callable[[], None]:
        ids = [companies] if isinstance(companies, int) else companies

        def run() -> None:
            with sessions() as session:
                result = history_page(session, ids, filters, sort, 50,
                                      cursor_holder.get("c") if deep else None)
                if deep:
                    cursor_holder["c"] = result.next_cursor
        return run

    F = DocumentFilters
    cases: list[tuple[str, Callable[[], None]]] = []
    every = f"advisor, all {len(bench):,} companies"
    scopes: tuple[tuple[str, int | list[int]], ...] = (
        ("median company", median_company), ("biggest company", biggest), (every, bench)
    )
    for label, company in scopes:
        cases += [
            (f"{label}: newest 50", page(company, F())),
            (f"{label}: full text 'repsol gasoleo'", page(company, F(q="repsol gasoleo"))),
            (f"{label}: full text 'factura' (common word)", page(company, F(q="factura"))),
            (f"{label}: full text, newest first", page(company, F(q="telefonica"), Sort.NEWEST)),
            (f"{label}: year+category+status", page(company, F(
                fiscal_year=2025, category="factura_recibida", status="indexed"))),
            (f"{label}: amount 100-500 by amount", page(
                company, F(amount_min=Decimal(100), amount_max=Decimal(500)), Sort.AMOUNT_DESC)),
            (f"{label}: issuer NIF", page(company, F(issuer_nif="A00001234"))),
            (f"{label}: date range", page(
                company, F(date_from=date(2024, 3, 1), date_to=date(2024, 3, 31)))),
            (f"{label}: pages 1..N by cursor", page(company, F(), Sort.NEWEST, deep=True)),
        ]
    cases += [
        (f"advisor, {len(few)} companies: full text 'factura'", page(few, F(q="factura"))),
        (f"advisor, {len(few)} companies: newest 50", page(few, F())),
        ("advisor: full text 'repsol gasoleo', pages 1..N", page(
            bench, F(q="repsol gasoleo"), deep=True)),
    ]
    if other:
        cases.append((f"other advisor, all {len(other):,} companies: full text 'factura'",
                      page(other, F(q="factura"))))

    def baseline() -> None:
        with sessions() as session:
            session.execute(text("SELECT 1")).all()

    cases.insert(0, ("baseline: SELECT 1 through a session (machine load)", baseline))
    all_samples: list[float] = []
    print(f"{'query':66} {'p50 ms':>8} {'p95 ms':>8}")
    for label, run in cases:
        cursor_holder.clear()
        run()  # warm the cache once, as a live server is
        samples = []
        for _ in range(runs):
            started = time.perf_counter()
            run()
            samples.append((time.perf_counter() - started) * 1000)
        if run is not baseline:
            all_samples += samples
        print(f"{label:66} {statistics.median(samples):8.1f} {percentile(samples, 0.95):8.1f}")
    p95 = percentile(all_samples, 0.95)
    print(f"{'ALL QUERIES':66} {statistics.median(all_samples):8.1f} {p95:8.1f}   "
          f"goal p95 <= 50 ms: {'met' if p95 <= 50 else 'NOT met'}")
    engine.dispose()


if __name__ == "__main__":
    main()
