"""Document history: filters, sort, cursor pages, search, rename/recategorize/delete/restore,
duplicates, shared folders and tax forms — on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from storage.models import Document
from tests.ingest.portal import Portal, field_of, portal_fixture  # noqa: F401 - the fixture
from workers.runtime import get_runtime

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def history(p: Portal, user: str, company: str, **params) -> dict:
    response = p.get(user, f"/v1/companies/{p.companies[company]}/documents", params=params)
    assert response.status_code == 200, response.text
    return response.json()


def names(page: dict) -> list[str]:
    return [item["display_name"] for item in page["items"]]


def walk(p: Portal, user: str, company: str, **params) -> list[str]:
    """Every page of a listing, following next_cursor."""
    seen: list[str] = []
    cursor = None
    while True:
        page = history(p, user, company, **params, **({"cursor": cursor} if cursor else {}))
        seen += names(page)
        cursor = page["next_cursor"]
        if not cursor:
            return seen


def search(p: Portal, user: str, **params) -> dict:
    """An advisor's (or client's) search across the companies they see."""
    response = p.get(user, "/v1/documents", params=params)
    assert response.status_code == 200, response.text
    return response.json()


def walk_search(p: Portal, user: str, **params) -> list[str]:
    """Every page of a search across companies, following next_cursor."""
    seen: list[str] = []
    cursor = None
    while True:
        page = search(p, user, **params, **({"cursor": cursor} if cursor else {}))
        seen += names(page)
        cursor = page["next_cursor"]
        if not cursor:
            return seen


def seed_invoices(p: Portal) -> None:
    rows = [
        ("repsol.pdf", "REPSOL ESTACIÓN DE SERVICIO gasóleo", "ticket", "45.20", "2026-02-03",
         "A28047223"),
        ("telefonica.pdf", "Telefónica factura móvil febrero", "factura_recibida", "60.50",
         "2026-02-10", "A82018474"),
        ("alquiler.pdf", "Recibo alquiler local febrero", "factura_recibida", "900.00",
         "2026-02-01", "B86561412"),
        ("venta.pdf", "Factura emitida a cliente", "factura_emitida", "1210.00", "2026-01-15",
         None),
        ("nota.pdf", "Nota sin importe", "otros", None, None, None),
    ]
    for index, (name, text, category, total, date, issuer) in enumerate(rows):
        fields = {}
        if total:
            fields["total"] = field_of(total)
        if date:
            fields["issue_date"] = field_of(date)
        if issuer:
            fields["issuer_tax_id"] = field_of(issuer)
        p.add_document(
            "ana", name, text, fields=fields, category=category,
            created_at=T0 + timedelta(minutes=index),
        )


def test_filters_on_category_amount_date_issuer_and_status(portal: Portal):
    p = portal
    seed_invoices(p)
    assert names(history(p, "ana", "ana")) == [
        "nota.pdf", "venta.pdf", "alquiler.pdf", "telefonica.pdf", "repsol.pdf"
    ]
    assert set(names(history(p, "ana", "ana", category="factura_recibida"))) == {
        "telefonica.pdf", "alquiler.pdf"
    }
    assert set(names(history(p, "ana", "ana", amount_min="50", amount_max="1000"))) == {
        "telefonica.pdf", "alquiler.pdf"
    }
    assert set(names(history(p, "ana", "ana", date_from="2026-02-01", date_to="2026-02-05"))) == {
        "repsol.pdf", "alquiler.pdf"
    }
    # One bound alone still leaves out the documents without the value.
    assert set(names(history(p, "ana", "ana", amount_max="100"))) == {
        "repsol.pdf", "telefonica.pdf"
    }
    assert set(names(history(p, "ana", "ana", date_to="2026-01-31"))) == {"venta.pdf"}
    assert names(history(p, "ana", "ana", issuer_nif="es-a28047223")) == ["repsol.pdf"]
    assert names(history(p, "ana", "ana", status="failed")) == []
    assert len(names(history(p, "ana", "ana", fiscal_year=2026))) == 5
    assert names(history(p, "ana", "ana", fiscal_year=2025)) == []
    item = history(p, "ana", "ana", issuer_nif="A28047223")["items"][0]
    assert item["total_amount"] == "45.20"
    assert item["document_date"] == "2026-02-03"
    assert item["uploaded_by"] == {"id": p.users["ana"], "name": "Ana", "role": "client"}


def test_every_sort_pages_through_every_document_once(portal: Portal):
    p = portal
    seed_invoices(p)
    assert walk(p, "ana", "ana", sort="-total_amount", limit=2) == [
        "venta.pdf", "alquiler.pdf", "telefonica.pdf", "repsol.pdf", "nota.pdf"
    ]
    assert walk(p, "ana", "ana", sort="total_amount", limit=2) == [
        "nota.pdf", "repsol.pdf", "telefonica.pdf", "alquiler.pdf", "venta.pdf"
    ]
    assert walk(p, "ana", "ana", sort="document_date", limit=3)[1:] == [
        "venta.pdf", "alquiler.pdf", "repsol.pdf", "telefonica.pdf"
    ]
    assert walk(p, "ana", "ana", sort="display_name", limit=1) == sorted(
        ["repsol.pdf", "telefonica.pdf", "alquiler.pdf", "venta.pdf", "nota.pdf"]
    )
    assert walk(p, "ana", "ana", sort="created_at", limit=4)[0] == "repsol.pdf"
    bad = p.get("ana", f"/v1/companies/{p.companies['ana']}/documents", params={"cursor": "xx"})
    assert bad.status_code == 422


def test_full_text_is_ranked_highlighted_and_paged(portal: Portal):
    p = portal
    for index in range(5):
        p.add_document("ana", f"doc{index}.pdf", "factura " * (index + 1) + "de compra")
    p.add_document("ana", "estacion.pdf", "Parada en la <b>Estación</b> de servicio")
    p.add_document("luis", "ajena.pdf", "factura de otro cliente")
    page = history(p, "ana", "ana", q="factura", limit=2)
    assert names(page) == ["doc4.pdf", "doc3.pdf"]  # more occurrences rank higher
    assert page["items"][0]["rank"] >= page["items"][1]["rank"] > 0
    assert "<mark>factura</mark>" in page["items"][0]["snippet"].lower()
    assert walk(p, "ana", "ana", q="factura", limit=2) == [f"doc{i}.pdf" for i in (4, 3, 2, 1, 0)]
    hit = history(p, "ana", "ana", q="estacion")["items"]
    assert [h["display_name"] for h in hit] == ["estacion.pdf"]
    assert "<mark>Estación</mark>" in hit[0]["snippet"]  # accents folded, original kept
    assert "<b>" not in hit[0]["snippet"]  # document text never becomes markup
    newest = history(p, "ana", "ana", q="factura", sort="-created_at")
    assert names(newest)[0] == "doc4.pdf"


def test_a_search_with_too_many_matches_pages_newest_first(portal: Portal, monkeypatch):
    import ingest.history

    p = portal
    monkeypatch.setattr(ingest.history, "RANKED_MATCHES_LIMIT", 3)
    # The oldest document says "factura" most often: it would rank first.
    for index in range(5):
        p.add_document(
            "ana", f"doc{index}.pdf", "factura " * (5 - index) + "de compra",
            created_at=T0 + timedelta(minutes=index),
        )
    p.add_document("luis", "l1.pdf", "factura factura", created_at=T0)
    p.add_document("luis", "l2.pdf", "factura", created_at=T0 + timedelta(minutes=1))
    newest = [f"doc{i}.pdf" for i in (4, 3, 2, 1, 0)]
    page = history(p, "ana", "ana", q="factura", limit=2)
    assert names(page) == newest[:2]
    assert all(item["rank"] > 0 and "<mark>" in item["snippet"] for item in page["items"])
    assert walk(p, "ana", "ana", q="factura", limit=2) == newest  # each once, in one order
    # Its cursor carries the order: it stays newest first even if matches drop below the limit.
    monkeypatch.setattr(ingest.history, "RANKED_MATCHES_LIMIT", 100)
    rest = history(p, "ana", "ana", q="factura", limit=2, cursor=page["next_cursor"])
    assert names(rest) == newest[2:4]
    assert names(history(p, "ana", "ana", q="factura", limit=2)) == ["doc0.pdf", "doc1.pdf"]
    # Few matches are ranked; another sort's cursor is refused.
    monkeypatch.setattr(ingest.history, "RANKED_MATCHES_LIMIT", 3)
    assert names(history(p, "luis", "luis", q="factura")) == ["l1.pdf", "l2.pdf"]
    foreign = history(p, "ana", "ana", sort="display_name", limit=2)["next_cursor"]
    refused = p.get(
        "ana", f"/v1/companies/{p.companies['ana']}/documents",
        params={"q": "factura", "cursor": foreign},
    )
    assert refused.status_code == 422
    # Other sorts are the same with many matches or few.
    assert walk(p, "ana", "ana", q="factura", sort="display_name", limit=2) == sorted(newest)


def test_advisors_search_across_their_clients_only(portal: Portal):
    p = portal
    p.add_document("ana", "a.pdf", "suministro eléctrico Iberdrola")
    p.add_document("luis", "l.pdf", "suministro eléctrico Endesa")
    p.add_document("bea", "b.pdf", "suministro eléctrico Naturgy")
    found = p.get("asesora", "/v1/documents", params={"q": "suministro electrico"}).json()
    assert sorted(names(found)) == ["a.pdf", "l.pdf"]
    params = {"q": "suministro", "company": p.companies["luis"]}
    one = p.get("asesora", "/v1/documents", params=params)
    assert names(one.json()) == ["l.pdf"]
    foreign = p.get("asesora", "/v1/documents", params={"company": p.companies["bea"]})
    assert foreign.status_code == 404
    assert names(p.get("ana", "/v1/documents", params={"q": "suministro"}).json()) == ["a.pdf"]
    assert p.get("empleado", "/v1/documents").status_code == 404


def seed_two_clients_and_a_stranger(p: Portal) -> None:
    """Six matches of "factura" over the advisory's two clients, interleaved in time; the
    fewer times a document says it, the newer it is. Another advisory's client says it most,
    last. And newer documents without the word."""
    for index, (company, times) in enumerate(
        [("ana", 6), ("luis", 5), ("ana", 4), ("luis", 3), ("ana", 2), ("luis", 1)]
    ):
        p.add_document(
            company, f"{company[0]}{times}.pdf", "factura " * times + "de compra",
            created_at=T0 + timedelta(minutes=index), fields={"total": field_of(str(times))},
        )
    p.add_document("bea", "bea.pdf", "factura " * 9, created_at=T0 + timedelta(minutes=9))
    for index in range(3):
        p.add_document(
            "ana", f"nomina{index}.pdf", "nómina de marzo",
            created_at=T0 + timedelta(minutes=10 + index),
        )


BY_RELEVANCE = ["a6.pdf", "l5.pdf", "a4.pdf", "l3.pdf", "a2.pdf", "l1.pdf"]
NEWEST_FIRST = BY_RELEVANCE[::-1]


def test_an_advisors_search_ranks_few_matches_across_clients(portal: Portal):
    p = portal
    seed_two_clients_and_a_stranger(p)
    page = search(p, "asesora", q="factura", limit=4)
    assert names(page) == BY_RELEVANCE[:4]
    assert page["items"][0]["rank"] > page["items"][-1]["rank"] > 0
    assert "<mark>factura</mark>" in page["items"][0]["snippet"].lower()
    assert walk_search(p, "asesora", q="factura", limit=4) == BY_RELEVANCE
    assert walk_search(p, "asesora", q="factura", limit=1) == BY_RELEVANCE
    # Narrowed to one client, and the other advisory's own search.
    assert walk_search(p, "asesora", q="factura", company=p.companies["luis"], limit=2) == [
        "l5.pdf", "l3.pdf", "l1.pdf"
    ]
    assert names(search(p, "otra", q="factura")) == ["bea.pdf"]


def test_an_advisors_search_with_many_matches_pages_newest_first(portal: Portal, monkeypatch):
    import ingest.history

    p = portal
    seed_two_clients_and_a_stranger(p)
    monkeypatch.setattr(ingest.history, "RANKED_MATCHES_LIMIT", 3)
    page = search(p, "asesora", q="factura", limit=2)
    assert names(page) == NEWEST_FIRST[:2]
    assert all(item["rank"] > 0 and "<mark>" in item["snippet"] for item in page["items"])
    assert walk_search(p, "asesora", q="factura", limit=2) == NEWEST_FIRST
    assert walk_search(p, "asesora", q="factura", limit=5) == NEWEST_FIRST
    # The cursor keeps the order even when the matches would now be ranked.
    monkeypatch.setattr(ingest.history, "RANKED_MATCHES_LIMIT", 100)
    rest = search(p, "asesora", q="factura", limit=2, cursor=page["next_cursor"])
    assert names(rest) == NEWEST_FIRST[2:4]
    monkeypatch.setattr(ingest.history, "RANKED_MATCHES_LIMIT", 3)
    # Other sorts, and clients narrowed by ?company=.
    assert walk_search(p, "asesora", q="factura", sort="display_name", limit=4) == sorted(
        NEWEST_FIRST
    )
    assert walk_search(p, "asesora", q="factura", sort="-total_amount", limit=4) == BY_RELEVANCE
    both = [p.companies["ana"], p.companies["luis"]]
    assert walk_search(p, "asesora", q="factura", company=both, limit=3) == NEWEST_FIRST
    # One client's three matches are few enough to rank.
    assert walk_search(p, "asesora", q="factura", company=p.companies["ana"]) == [
        "a6.pdf", "a4.pdf", "a2.pdf"
    ]


def test_a_walk_that_finds_too_little_sorts_the_matches(portal: Portal, monkeypatch):
    """Matches only among older documents: the walk gives up after WALK_LIMIT documents and the
    page is made of the matches sorted, in the same order and with the same cursors."""
    import ingest.history

    p = portal
    seed_two_clients_and_a_stranger(p)
    monkeypatch.setattr(ingest.history, "RANKED_MATCHES_LIMIT", 2)
    monkeypatch.setattr(ingest.history, "WALK_LIMIT", 2)  # the three nóminas are newer
    assert names(search(p, "asesora", q="factura", limit=2)) == NEWEST_FIRST[:2]
    assert walk_search(p, "asesora", q="factura", limit=2) == NEWEST_FIRST
    assert walk_search(p, "asesora", q="factura", sort="-created_at", limit=4) == NEWEST_FIRST
    assert walk_search(p, "asesora", q="factura", sort="-display_name", limit=2) == sorted(
        NEWEST_FIRST, reverse=True
    )
    # One company's search takes the same path.
    assert walk_search(p, "ana", q="factura", limit=1) == ["a2.pdf", "a4.pdf", "a6.pdf"]
    assert walk_search(p, "otra", q="factura") == ["bea.pdf"]


def test_an_advisors_history_sorts_across_clients_by_every_key(portal: Portal):
    p = portal
    seed_two_clients_and_a_stranger(p)
    oldest_first = BY_RELEVANCE + [f"nomina{index}.pdf" for index in range(3)]
    assert walk_search(p, "asesora", limit=2) == oldest_first[::-1]
    assert walk_search(p, "asesora", sort="created_at", limit=4) == oldest_first
    assert walk_search(p, "asesora", sort="display_name", limit=3) == sorted(oldest_first)
    # No amount sorts lowest, and ties (the nóminas) go by id.
    by_amount = walk_search(p, "asesora", sort="-total_amount", limit=2)
    assert by_amount[:6] == BY_RELEVANCE
    assert sorted(by_amount[6:]) == [f"nomina{index}.pdf" for index in range(3)]
    assert walk_search(p, "asesora", sort="total_amount", limit=5) == by_amount[::-1]
    assert walk_search(p, "asesora", amount_min="3", limit=1) == [
        "l3.pdf", "a4.pdf", "l5.pdf", "a6.pdf"
    ]
    assert walk_search(p, "otra") == ["bea.pdf"]


def test_rename_recategorize_soft_delete_and_restore_are_audited(portal: Portal):
    p = portal
    document_id = p.add_document("ana", "scan001.pdf", "Factura de Makro", category="otros")
    renamed = p.post("ana", f"/v1/documents/{document_id}/rename", json={"name": "Makro marzo"})
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["display_name"] == "Makro marzo.pdf"
    assert names(history(p, "ana", "ana", q="makro marzo")) == ["Makro marzo.pdf"]  # reindexed
    moved = p.post("ana", f"/v1/documents/{document_id}/recategorize", json={"category": "ticket"})
    assert moved.json()["category"] == "ticket"
    wrong = p.post("ana", f"/v1/documents/{document_id}/recategorize", json={"category": "x"})
    assert wrong.status_code == 422

    assert p.delete("ana", f"/v1/documents/{document_id}").status_code == 204
    assert history(p, "ana", "ana")["items"] == []
    assert p.get("ana", f"/v1/documents/{document_id}").status_code == 404  # gone for the client
    assert p.post("ana", f"/v1/documents/{document_id}/restore").status_code == 404
    with get_runtime().sessions() as session:
        kept = session.get(Document, document_id)
        assert kept is not None  # kept, never destroyed
        assert kept.deleted_by == p.users["ana"]
    trash = history(p, "asesora", "ana", deleted="only")
    assert names(trash) == ["Makro marzo.pdf"]
    assert trash["items"][0]["deleted_at"] is not None
    assert history(p, "ana", "ana", deleted="only")["items"] == []  # clients have no bin
    restored = p.post("asesora", f"/v1/documents/{document_id}/restore")
    assert restored.status_code == 200
    assert restored.json()["deleted_at"] is None
    assert names(history(p, "ana", "ana")) == ["Makro marzo.pdf"]
    trail = p.get("ana", f"/v1/documents/{document_id}/audit").json()
    assert [(e["action"], e["user_id"]) for e in trail] == [
        ("rename", p.users["ana"]),
        ("recategorize", p.users["ana"]),
        ("delete", p.users["ana"]),
        ("restore", p.users["asesora"]),
    ]
    assert trail[0]["before"] == {"display_name": "scan001.pdf"}


def test_the_same_file_twice_is_a_visible_linked_duplicate(portal: Portal):
    p = portal
    body = b"%PDF-1.4 the same bytes"
    url = f"/v1/companies/{p.companies['ana']}/documents"
    first = p.post("ana", url, files=[("files", ("a.pdf", body, "application/pdf"))]).json()
    second = p.post("ana", url, files=[("files", ("copia.pdf", body, "application/pdf"))]).json()
    original = first["documents"][0]
    copy = second["documents"][0]
    assert (original["status"], original["duplicate_of"]) == ("queued", None)
    assert (copy["status"], copy["duplicate_of"]) == ("duplicate", original["id"])
    listed = history(p, "ana", "ana")["items"]
    assert {(d["display_name"], d["status"]) for d in listed} == {
        ("a.pdf", "queued"), ("copia.pdf", "duplicate")
    }
    detail = p.get("ana", f"/v1/documents/{copy['id']}").json()
    assert detail["history"][0]["status"] == "skipped"
    assert original["id"] in detail["history"][0]["message"]
    # Another company sending the same bytes is no duplicate.
    other = p.post(
        "luis", f"/v1/companies/{p.companies['luis']}/documents",
        files=[("files", ("a.pdf", body, "application/pdf"))],
    ).json()["documents"][0]
    assert other["status"] == "queued"


def test_the_chain_catches_duplicates_that_skipped_the_upload_check(portal: Portal):
    from workers.duplicates import stop_if_duplicate

    p = portal
    first = p.add_document("ana", "a.pdf", "x", status="queued", created_at=T0)
    second = p.add_document("ana", "b.pdf", "x", status="queued", created_at=T0)
    with get_runtime().sessions.begin() as session:
        a, b = session.get(Document, first), session.get(Document, second)
        b.sha256 = a.sha256  # e.g. two direct uploads racing each other
        later, earlier = (a, b) if (a.created_at, a.id) > (b.created_at, b.id) else (b, a)
        later_id, earlier_id = later.id, earlier.id
    assert stop_if_duplicate(earlier_id) is False
    assert stop_if_duplicate(later_id) is True
    assert stop_if_duplicate(later_id) is True  # idempotent on redelivery
    with get_runtime().sessions() as session:
        assert session.get(Document, later_id).duplicate_of == earlier_id
        assert session.get(Document, earlier_id).status == "queued"


def test_advisors_share_folders_with_a_client(portal: Portal):
    p = portal
    url = f"/v1/companies/{p.companies['ana']}/documents"
    files = [("files", ("303-3T.pdf", b"%PDF-1.4 modelo", "application/pdf"))]
    shared = p.post("asesora", url, files=files, data={"folder": "Modelos presentados"})
    assert shared.status_code == 202, shared.text
    refused = p.post("ana", url, files=files, data={"folder": "Mío"})
    assert refused.status_code == 422
    folders = p.get("ana", f"/v1/companies/{p.companies['ana']}/folders").json()
    assert [(f["name"], f["documents"]) for f in folders] == [("Modelos presentados", 1)]
    item = history(p, "ana", "ana", folder="Modelos presentados")["items"][0]
    assert item["uploaded_by"]["role"] == "advisor"
    assert item["uploaded_by"]["name"] == "Asesora"
    assert item["source"] == "api"
    assert history(p, "ana", "ana", shared="false")["items"] == []
    assert p.get("luis", f"/v1/companies/{p.companies['ana']}/folders").status_code == 404


def test_tax_forms_list_model_and_period(portal: Portal):
    p = portal
    p.add_document(
        "ana", "303-3T.pdf", "Modelo 303", category="modelo_aeat",
        fields={"model": field_of("303"), "period": field_of("3T"), "fiscal_year": field_of(2025)},
    )
    p.add_document(
        "ana", "303-1T.pdf", "Modelo 303", predicted="modelo_aeat",
        fields={"model": field_of("303"), "period": field_of("1t")},
    )
    p.add_document("ana", "111.pdf", "Modelo 111", category="modelo_aeat",
                   fields={"model": field_of("111"), "period": field_of("1T")})
    p.add_document("ana", "factura.pdf", "Factura", category="factura_recibida")
    forms = p.get("ana", f"/v1/companies/{p.companies['ana']}/tax-forms").json()
    assert [(f["model"], f["period"], f["fiscal_year"]) for f in forms] == [
        ("303", "1T", 2026), ("111", "1T", 2026), ("303", "3T", 2025)
    ] or [(f["model"], f["period"], f["fiscal_year"]) for f in forms] == [
        ("111", "1T", 2026), ("303", "1T", 2026), ("303", "3T", 2025)
    ]
    only_111 = p.get(
        "ana", f"/v1/companies/{p.companies['ana']}/tax-forms", params={"model": "111"}
    ).json()
    assert [f["document"]["display_name"] for f in only_111] == ["111.pdf"]
    assert p.get("bea", f"/v1/companies/{p.companies['ana']}/tax-forms").status_code == 404
