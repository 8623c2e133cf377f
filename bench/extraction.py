"""Extraction benchmark: accuracy per field and per category.

(a) the shared samples: Facturae XML and Factur-X/ZUGFeRD PDFs against their JSON (every
    XML-backed field must be exact);
(b) a generated set of realistic Spanish documents (tickets from supermarkets, restaurants,
    fuel stations and car parks; professional invoices with IRPF; payslips; modelos 303/111/130)
    as clean PDFs and as noisy phone photos, through the real normalize ▶ OCR ▶ extract path;
(c) with ``--receipts N``: N till receipts (tests/receipts.py: 58/80 mm thermal prints, many
    layouts and wordings) each read twice, as a clean text PDF and as a phone photo (fading,
    crumples, perspective, shadows, blur, JPEG) through normalize ▶ OCR ▶ extract.

The baseline column is the first version (keyword classifier + ``extract_basic_fields``)
measured on the same documents in the same run.

    OMP_THREAD_LIMIT=1 .venv/bin/python -m bench.extraction [--count 210] [--photo-every 3]
    .venv/bin/python -m bench.extraction --count 0 --receipts 60 [--receipt-seed 7000] [--failures]
    .venv/bin/python -m bench.extraction --count 0 --payslips 28 [--payslip-seed 9000]

(d) with ``--payslips N``: N payslips in the layouts of the common payroll programs
    (tests/payslip_documents.py), each read as its text PDF and as a scan through OCR.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("OMP_THREAD_LIMIT", "1")

from pdf2image import convert_from_path  # noqa: E402

from pipeline.classify import suggest_category  # noqa: E402
from pipeline.extract import analyze_document  # noqa: E402
from pipeline.facturae import parse_facturae  # noqa: E402
from pipeline.fields import extract_basic_fields, find_tax_ids  # noqa: E402
from pipeline.normalize import normalize_upload  # noqa: E402
from pipeline.ocr import merge_text, ocr_pdf_pages  # noqa: E402
from tests.extraction_documents import (  # noqa: E402
    GENERATORS,
    GeneratedDocument,
    document_pdf_bytes,
    document_photo_bytes,
)
from tests.payslip_documents import (  # noqa: E402
    LAYOUTS,
    make_payslip_document,
    payslip_scan_bytes,
)
from tests.receipts import make_receipt, receipt_photo_bytes  # noqa: E402

GOALS = {"total": 0.95, "issue_date": 0.95, "issuer_tax_id": 0.90, "category": 0.95}
SAMPLES = Path(os.environ.get("PAPELEO_SAMPLES", ROOT.parent / "shared" / "samples"))
COMPANY_NIF = "B12345674"  # the client company of the generated documents


def _same(found: Any, expected: Any) -> bool:
    if expected is None:
        return found is None
    if found is None:
        return False
    if isinstance(expected, float | int) and not isinstance(expected, bool):
        try:
            return Decimal(str(found)) == Decimal(str(expected))
        except ArithmeticError:
            return False
    return str(found) == str(expected)


class Tally:
    """Hits and tries per (group, field)."""

    def __init__(self) -> None:
        self.hits: dict[tuple[str, str], int] = defaultdict(int)
        self.tries: dict[tuple[str, str], int] = defaultdict(int)
        self.misses: dict[tuple[str, str], list[str]] = defaultdict(list)

    def add(self, group: str, name: str, ok: bool, detail: str = "") -> None:
        self.tries[group, name] += 1
        self.hits[group, name] += ok
        if not ok and len(self.misses[group, name]) < 3:
            self.misses[group, name].append(detail)

    def ratio(self, group: str, name: str) -> float | None:
        tries = self.tries.get((group, name), 0)
        return self.hits[group, name] / tries if tries else None


# --- (a) samples ---------------------------------------------------------------------------


def bench_samples(tally: Tally) -> None:
    for path in sorted((SAMPLES / "facturae").glob("*.xml")):
        truth = json.loads(path.with_suffix(".json").read_text())
        doc = parse_facturae(path.read_bytes())
        first = doc.invoices[0] if doc.invoices else None
        single = doc.modality == "I"
        checks = {
            "schema_version": (doc.version, truth["schema_version"]),
            "issuer_tax_id": (doc.issuer_tax_id, truth["issuer_tax_id"]),
            "issuer_name": (doc.issuer_name, truth["issuer_name"]),
            "buyer_tax_id": (doc.buyer_tax_id, truth["buyer_tax_id"]),
            "batch_total": (doc.batch_total, truth["batch_total"]),
            "signed": (doc.signed, truth["signed_xades"]),
            "valid": (doc.valid, truth["valid"]),
            "invoice_number": (
                first.number if single and first else None,
                truth.get("invoice_number"),
            ),
            "issue_date": (str(first.issue_date) if single and first else None, truth.get("date")),
            "total": (first.total if single and first else None, truth.get("total")),
            "invoices": (
                [
                    (i.series, i.number, str(i.issue_date), i.total, i.withholding_amount)
                    for i in doc.invoices
                ],
                [
                    (
                        i["series"],
                        i["invoice_number"],
                        i["date"],
                        Decimal(str(i["total"])),
                        Decimal(str(i["taxes_withheld"])),
                    )
                    for i in truth["invoices"]
                ],
            ),
        }
        if truth.get("expected_error"):
            codes = {str(p.code).upper() for p in doc.errors}
            checks["error_code"] = (truth["expected_error"] in codes, True)
        for name, (found, expected) in checks.items():
            ok = found == expected if name == "invoices" else _same(found, expected)
            tally.add("samples/facturae", name, ok, f"{path.name}: {found!r} vs {expected!r}")

    for path in sorted((SAMPLES / "invoices").glob("*.pdf")):
        truth = json.loads(path.with_suffix(".json").read_text())
        with tempfile.TemporaryDirectory() as scratch:
            normalized = normalize_upload(
                path, Path(scratch) / "n.pdf", max_pages=50, max_pixels=80_000_000
            )
            analysis = analyze_document(
                normalized.text, pdf=path.read_bytes(), company_nif=COMPANY_NIF
            )
        fields = {k: v.get("value") for k, v in analysis.fields.items()}
        vat = [
            (Decimal(v["rate"]), Decimal(v["base"]), Decimal(v["amount"]))
            for v in fields.get("vat_lines") or []
        ]
        checks = {
            "invoice_number": (fields.get("invoice_number"), truth.get("invoice_number")),
            "issue_date": (fields.get("issue_date"), truth["date"]),
            "issuer_tax_id": (fields.get("issuer_tax_id"), truth["issuer_tax_id"]),
            "issuer_name": (fields.get("issuer_name"), truth["issuer_name"]),
            "recipient_name": (fields.get("recipient_name"), truth["buyer_name"]),
            "total": (fields.get("total"), truth["total"]),
            "tax_total": (fields.get("tax_total"), truth["tax_total"]),
            "currency": (fields.get("currency"), truth["currency"]),
            "source_xml": (analysis.fields.get("total", {}).get("source"), "xml"),
        }
        for name, (found, expected) in checks.items():
            tally.add(
                "samples/factur-x",
                name,
                _same(found, expected),
                f"{path.name}: {found!r} vs {expected!r}",
            )
        expected_vat = [
            (Decimal(str(v["rate"])), Decimal(str(v["base"])), Decimal(str(v["amount"])))
            for v in truth["vat"]
        ]
        tally.add(
            "samples/factur-x",
            "vat_lines",
            vat == expected_vat or not expected_vat,
            f"{path.name}: {vat} vs {expected_vat}",
        )


# --- (b) generated -------------------------------------------------------------------------


def read_text(source: Path, pdf: Path) -> tuple[str, bool]:
    """(text, from OCR) of ``source`` through the real normalize and OCR steps."""
    normalized = normalize_upload(source, pdf, max_pages=10, max_pixels=80_000_000)
    if not normalized.pages_needing_ocr:
        return normalized.text, False
    result = ocr_pdf_pages(pdf, list(normalized.pages_needing_ocr), languages="spa+eng", dpi=300)
    return merge_text(normalized, result), True


def read_generated(
    document: GeneratedDocument, photo: bool, scratch: Path, photo_bytes: bytes | None = None
) -> tuple[str, bool, list]:
    """(text, from OCR, page images) through the real normalize and OCR steps."""
    source = scratch / ("photo.jpg" if photo else "doc.pdf")
    if photo:
        source.write_bytes(photo_bytes or document_photo_bytes(document))
    else:
        source.write_bytes(document_pdf_bytes(document))
    pdf = scratch / "normalized.pdf"
    text, from_ocr = read_text(source, pdf)
    images = convert_from_path(
        str(pdf), dpi=200, fmt="ppm", first_page=1, last_page=1, thread_count=1
    )
    return text, from_ocr, images


FIELDS_BY_KIND = {
    "ticket": ("issuer_tax_id", "issue_date", "total", "invoice_number", "payment_method"),
    "invoice": (
        "issuer_tax_id",
        "recipient_tax_id",
        "issue_date",
        "total",
        "invoice_number",
        "irpf_rate",
        "irpf_amount",
        "iban",
    ),
    "payslip": ("issuer_tax_id", "employee_tax_id", "period", "gross", "net"),
    "modelo": (
        "model",
        "fiscal_year",
        "period",
        "csv",
        "receipt_number",
        "result",
        "issuer_tax_id",
    ),
}


def bench_generated(tally: Tally, count: int, photo_every: int) -> dict[str, float]:
    kinds = list(GENERATORS)
    timings = {"ocr_s": 0.0, "extract_s": 0.0, "baseline_s": 0.0}
    for index in range(count):
        kind = kinds[index % len(kinds)]
        seed = 1000 + index
        if kind == "invoice_irpf":
            document = GENERATORS[kind](seed, company_nif=COMPANY_NIF, issued=index % 3 == 0)
        else:
            document = GENERATORS[kind](seed)
        photo = photo_every > 0 and index % photo_every == 0
        medium = "photo" if photo else "pdf"
        with tempfile.TemporaryDirectory() as folder:
            started = time.perf_counter()
            text, from_ocr, images = read_generated(document, photo, Path(folder))
            timings["ocr_s"] += time.perf_counter() - started
        started = time.perf_counter()
        analysis = analyze_document(
            text, company_nif=COMPANY_NIF, from_ocr=from_ocr, page_images=images
        )
        timings["extract_s"] += time.perf_counter() - started
        started = time.perf_counter()
        baseline_category = suggest_category(
            text, company_nif=COMPANY_NIF, nifs_found=find_tax_ids(text)
        ).category
        baseline = extract_basic_fields(text)
        timings["baseline_s"] += time.perf_counter() - started

        truth = document.truth
        group = kind.split("_")[0]
        family = "modelo" if kind.startswith("modelo") else "ticket" if group == "ticket" else group
        found = {k: v.get("value") for k, v in analysis.fields.items()}
        ok = str(analysis.classification.category) == truth["category"]
        for where in ("all", f"{medium}", kind):
            tally.add(where, "category", ok, f"{kind}#{seed}: {analysis.classification.category}")
            tally.add(f"baseline:{where}", "category", str(baseline_category) == truth["category"])
        for name in FIELDS_BY_KIND[family]:
            expected = truth.get(name)
            if name == "recipient_tax_id" and expected is None:
                continue
            hit = _same(found.get(name), expected)
            for where in ("all", medium, kind):
                tally.add(
                    where, name, hit, f"{kind}#{seed}/{medium}: {found.get(name)!r} vs {expected!r}"
                )
            base_value = _baseline_value(baseline, name)
            for where in ("all", medium, kind):
                tally.add(f"baseline:{where}", name, _same(base_value, expected))
    return timings


def _baseline_value(fields: dict[str, Any], name: str) -> Any:
    """What the first version offers for ``name`` (its first tax id is the issuer)."""
    if name == "issuer_tax_id":
        ids = fields.get("tax_ids", {}).get("value") or []
        return ids[0] if ids else None
    if name == "invoice_number":
        return fields.get("invoice_number", {}).get("value")
    return fields.get(name, {}).get("value")


# --- (c) receipts, clean and photographed ---------------------------------------------------

RECEIPT_FIELDS = (
    "category",
    "issuer_tax_id",
    "issue_date",
    "total",
    "vat_base",
    "vat_quota",
    "vat_lines",
    "payment_method",
)


def _receipt_found(analysis: Any) -> dict[str, Any]:
    """The receipt fields as the truth spells them (VAT sums from the extracted lines)."""
    found: dict[str, Any] = {k: v.get("value") for k, v in analysis.fields.items()}
    found["category"] = str(analysis.classification.category)
    lines = found.get("vat_lines") or []
    found["vat_lines"] = sorted((v["rate"], v["base"], v["amount"]) for v in lines) or None
    for name, key in (("vat_base", "base"), ("vat_quota", "amount")):
        total = sum((Decimal(v[key]) for v in lines), Decimal("0.00"))
        found[name] = str(total) if lines else None
    return found


def bench_receipts(
    tally: Tally, count: int, first_seed: int, show_failures: bool
) -> dict[str, float]:
    """Each receipt as a clean text PDF and as a phone photo; groups "receipt:pdf"/":photo"."""
    timings = {"ocr_s": 0.0, "extract_s": 0.0, "qr": 0}
    for seed in range(first_seed, first_seed + count):
        document = make_receipt(seed)
        truth = dict(document.truth)
        truth["vat_lines"] = sorted((v["rate"], v["base"], v["amount"]) for v in truth["vat_lines"])
        for medium in ("pdf", "photo"):
            with tempfile.TemporaryDirectory() as folder:
                started = time.perf_counter()
                photo = receipt_photo_bytes(document) if medium == "photo" else None
                text, from_ocr, images = read_generated(
                    document, medium == "photo", Path(folder), photo
                )
                timings["ocr_s"] += (time.perf_counter() - started) * (medium == "photo")
            started = time.perf_counter()
            analysis = analyze_document(
                text, company_nif=COMPANY_NIF, from_ocr=from_ocr, page_images=images
            )
            timings["extract_s"] += time.perf_counter() - started
            found = _receipt_found(analysis)
            if medium == "photo" and analysis.fields.get("fiscal_qr"):
                timings["qr"] += 1
            missed = []
            for name in RECEIPT_FIELDS:
                ok = (
                    found.get(name) == truth[name]
                    if name == "vat_lines"
                    else _same(found.get(name), truth[name])
                )
                detail = f"{document.kind}#{seed}/{medium}: {found.get(name)!r} vs {truth[name]!r}"
                tally.add(f"receipt:{medium}", name, ok, detail)
                if not ok:
                    missed.append(f"{name}: {found.get(name)!r} vs {truth[name]!r}")
            if missed and show_failures and medium == "photo":
                print(f"### {document.kind} seed {seed} ({medium}) missed", *missed, sep="\n  ")
                print("--- OCR text ---", text, "----------------", sep="\n")
    return timings


# --- (d) payslips, text PDF and scan --------------------------------------------------------

PAYSLIP_FIELDS = (
    "category",
    "issuer_tax_id",
    "employee_tax_id",
    "period",
    "gross",
    "net",
    "irpf_rate",
)


def bench_payslips(
    tally: Tally, count: int, first_seed: int, show_failures: bool
) -> dict[str, float]:
    """Groups "payslip:text"/"payslip:scan" and one per layout ("payslip:<layout>")."""
    timings = {"ocr_s": 0.0, "extract_s": 0.0}
    for seed in range(first_seed, first_seed + count):
        document = make_payslip_document(seed)
        for medium in ("text", "scan"):
            with tempfile.TemporaryDirectory() as folder:
                started = time.perf_counter()
                source = Path(folder) / ("scan.jpg" if medium == "scan" else "slip.pdf")
                source.write_bytes(
                    payslip_scan_bytes(document) if medium == "scan" else document.pdf
                )
                text, from_ocr = read_text(source, Path(folder) / "normalized.pdf")
                timings["ocr_s"] += time.perf_counter() - started
            started = time.perf_counter()
            analysis = analyze_document(text, company_nif=COMPANY_NIF, from_ocr=from_ocr)
            timings["extract_s"] += time.perf_counter() - started
            found = {k: v.get("value") for k, v in analysis.fields.items()}
            found["category"] = str(analysis.classification.category)
            missed = []
            for name in PAYSLIP_FIELDS:
                expected = document.truth.get(name)
                ok = _same(found.get(name), expected)
                detail = f"{document.layout}#{seed}/{medium}: {found.get(name)!r} vs {expected!r}"
                tally.add(f"payslip:{medium}", name, ok, detail)
                tally.add(f"payslip:{document.layout}", name, ok, detail)
                if not ok:
                    missed.append(detail)
            if missed and show_failures:
                print(f"### {document.layout} seed {seed} ({medium}) missed", *missed, sep="\n  ")
                print("--- text ---", text, "------------", sep="\n")
    return timings


# --- report --------------------------------------------------------------------------------


def _cell(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:5.1f}%"


def print_table(tally: Tally, groups: list[str], names: list[str], baseline: bool) -> None:
    header = "| field | " + " | ".join(groups) + (" | baseline (all) |" if baseline else " |")
    print(header)
    print("|" + "---|" * (len(groups) + 1 + baseline))
    for name in names:
        row = [_cell(tally.ratio(g, name)) for g in groups]
        if baseline:
            row.append(_cell(tally.ratio("baseline:all", name)))
        if all(c == "–" for c in row):
            continue
        print(f"| {name} | " + " | ".join(row) + " |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=210)
    parser.add_argument("--photo-every", type=int, default=3)
    parser.add_argument("--misses", action="store_true", help="print a few misses per field")
    parser.add_argument("--receipts", type=int, default=0, help="(c): receipts, clean + photo")
    # Seeds 1-48 and 5000-5039 were looked at while fixing failures: measure from 7000 on.
    parser.add_argument("--receipt-seed", type=int, default=7000, help="(c): first seed")
    parser.add_argument(
        "--failures", action="store_true", help="(c), (d): print the text of missed documents"
    )
    parser.add_argument("--payslips", type=int, default=0, help="(d): payslips, text + scan")
    # Seeds below 1000 are the unit tests' and were looked at while fixing: measure elsewhere.
    parser.add_argument("--payslip-seed", type=int, default=9000, help="(d): first seed")
    args = parser.parse_args()
    tally = Tally()
    started = time.perf_counter()
    if SAMPLES.is_dir():
        bench_samples(tally)
        print("## (a) shared samples (exact match against the JSON)\n")
        for group in ("samples/facturae", "samples/factur-x"):
            names = sorted({n for g, n in tally.tries if g == group})
            print(f"### {group} ({tally.tries[group, names[0]]} files)\n")
            print_table(tally, [group], names, baseline=False)
            print()
    else:
        print(f"(a) skipped: no samples at {SAMPLES}\n")
    if args.receipts:
        receipt_timings = bench_receipts(tally, args.receipts, args.receipt_seed, args.failures)
        print(
            f"## (c) {args.receipts} till receipts, seeds {args.receipt_seed}-"
            f"{args.receipt_seed + args.receipts - 1}: clean text PDF and phone photo\n"
        )
        print_table(tally, ["receipt:pdf", "receipt:photo"], list(RECEIPT_FIELDS), baseline=False)
        print(
            f"\n{receipt_timings['qr']} photos had a readable fiscal QR; normalize+OCR "
            f"{receipt_timings['ocr_s']:.1f} s, extract {receipt_timings['extract_s']:.1f} s\n"
        )
    if args.payslips:
        payslip_timings = bench_payslips(tally, args.payslips, args.payslip_seed, args.failures)
        print(
            f"## (d) {args.payslips} payslips, seeds {args.payslip_seed}-"
            f"{args.payslip_seed + args.payslips - 1}: text PDF and scan\n"
        )
        groups = ["payslip:text", "payslip:scan", *(f"payslip:{name}" for name in LAYOUTS)]
        print_table(tally, groups, list(PAYSLIP_FIELDS), baseline=False)
        print(
            f"\nnormalize+OCR {payslip_timings['ocr_s']:.1f} s, "
            f"extract {payslip_timings['extract_s']:.1f} s\n"
        )
        if args.misses:
            for (group, name), misses in sorted(tally.misses.items()):
                if group in {"payslip:text", "payslip:scan"}:
                    for miss in misses:
                        print(f"  miss {group}/{name}: {miss}")
    if not args.count:
        return 0
    timings = bench_generated(tally, args.count, args.photo_every)
    kinds = list(GENERATORS)
    print(
        f"## (b) {args.count} generated documents "
        f"({tally.tries['pdf', 'category']} clean PDFs, {tally.tries['photo', 'category']} "
        "photos)\n"
    )
    names = [
        "category",
        "issuer_tax_id",
        "recipient_tax_id",
        "issue_date",
        "total",
        "invoice_number",
        "payment_method",
        "irpf_rate",
        "irpf_amount",
        "iban",
        "employee_tax_id",
        "period",
        "gross",
        "net",
        "model",
        "fiscal_year",
        "csv",
        "receipt_number",
        "result",
    ]
    print_table(tally, ["all", "pdf", "photo", *kinds], names, baseline=True)
    print()
    failed = [
        f"{name} {_cell(tally.ratio('all', name))} < {100 * goal:.0f}%"
        for name, goal in GOALS.items()
        if (tally.ratio("all", name) or 0) < goal
    ]
    xml_failed = [
        f"{g}/{n}"
        for (g, n) in tally.tries
        if g.startswith("samples/") and tally.ratio(g, n) != 1.0
    ]
    print(f"goals on (b): {'met' if not failed else 'NOT met: ' + ', '.join(failed)}")
    print(f"XML-backed fields on (a): {xml_failed if xml_failed else 'all exact'}")
    print(
        f"time: read (normalize+OCR) {timings['ocr_s']:.1f} s, extract "
        f"{timings['extract_s']:.1f} s, baseline extract {timings['baseline_s']:.2f} s, "
        f"total {time.perf_counter() - started:.1f} s"
    )
    if args.misses:
        for (group, name), misses in sorted(tally.misses.items()):
            if group in {"all"} or group.startswith("samples"):
                for miss in misses:
                    print(f"  miss {group}/{name}: {miss}")
    return 0 if not failed and not xml_failed else 1


if __name__ == "__main__":
    raise SystemExit(main())
