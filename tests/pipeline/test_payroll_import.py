"""Imports: every bad line is reported with its line number; the good path round-trips."""

from __future__ import annotations

import csv
import io
import json

from pipeline.payroll import ProblemCode
from pipeline.payroll_import import parse_payroll_csv, parse_payroll_json
from tests.payroll_data import payroll_csv, payroll_json


def csv_rows(seeds=range(1, 4)) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(payroll_csv(seeds).decode())))


def to_csv(rows: list[dict[str, str]]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


def test_csv_reports_bad_nif_bad_naf_and_bad_arithmetic_on_their_lines():
    rows = csv_rows()
    nifs = list(dict.fromkeys(r["nif"] for r in rows))
    line = {id(r): i + 2 for i, r in enumerate(rows)}  # line 1 is the header
    first = [r for r in rows if r["nif"] == nifs[0]]
    second = [r for r in rows if r["nif"] == nifs[1]]
    third = [r for r in rows if r["nif"] == nifs[2]]
    for r in first:  # a NIF with a wrong letter
        r["nif"] = r["nif"][:-1] + ("A" if r["nif"][-1] != "A" else "B")
    for r in second:  # a wrong social-security control digit
        r["naf"] = r["naf"][:-1] + str((int(r["naf"][-1]) + 1) % 10)
    net_row = next(r for r in third if r["section"] == "total" and r["concept"] == "liquido")
    net_row["amount"] = "1.00"  # the stated net is not A − B
    parsed = parse_payroll_csv(to_csv(rows))
    by_code = {p.code: p for p in parsed.problems}
    assert set(by_code) == {
        ProblemCode.INVALID_NIF,
        ProblemCode.INVALID_NAF,
        ProblemCode.ARITHMETIC,
    }
    assert by_code[ProblemCode.INVALID_NIF].line == line[id(first[0])]
    assert by_code[ProblemCode.INVALID_NAF].line == line[id(second[0])]
    assert by_code[ProblemCode.ARITHMETIC].line == line[id(net_row)]  # the liquido row itself
    assert by_code[ProblemCode.ARITHMETIC].field == "liquido"
    assert not parsed.ok
    assert [p.employee.nif for p in parsed.payslips] == [nifs[2]]


def test_csv_rate_that_is_not_the_years_is_reported_on_its_row():
    rows = csv_rows(range(1, 2))
    index, row = next(
        (i, r)
        for i, r in enumerate(rows)
        if r["section"] == "aportacion" and r["concept"] == "contingencias_comunes"
    )
    row["rate"] = "4.80"
    parsed = parse_payroll_csv(to_csv(rows))
    assert (parsed.problems[0].line, parsed.problems[0].code) == (
        index + 2,
        ProblemCode.RATE_MISMATCH,
    )


def test_json_reports_problems_by_payslip_position():
    document = json.loads(payroll_json(range(1, 4)))
    document["payslips"][1]["employee"]["nif"] = "00000000A"
    document["payslips"][2]["bases"]["common"] = "99999.00"
    parsed = parse_payroll_json(json.dumps(document).encode())
    lines = {(p.line, p.code) for p in parsed.problems}
    assert (2, ProblemCode.INVALID_NIF) in lines
    assert (3, ProblemCode.BASE_OUT_OF_RANGE) in lines
    assert all(p.line != 1 for p in parsed.problems)


def test_a_duplicate_employee_in_one_period_is_refused():
    document = json.loads(payroll_json([1]))
    document["payslips"].append(document["payslips"][0])
    parsed = parse_payroll_json(json.dumps(document).encode())
    assert [(p.line, p.code) for p in parsed.problems] == [(2, ProblemCode.DUPLICATE)]


def test_garbage_is_one_readable_problem():
    assert parse_payroll_json(b"{nope").problems[0].field == "file"
    assert "faltan columnas" in parse_payroll_csv(b"a,b\n1,2\n").problems[0].message


def test_a_stray_carriage_return_is_one_readable_problem():
    lines = payroll_csv([1, 2]).split(b"\n")
    lines[3] = lines[3].replace(b",", b",\r", 1)
    parsed = parse_payroll_csv(b"\n".join(lines))
    assert [(p.line, p.field) for p in parsed.problems] == [(4, "file")]
    assert "CSV mal formado" in parsed.problems[0].message


def test_absurd_amounts_are_refused_on_their_line():
    rows = csv_rows([1])
    for value in ("1e999", "99999999999999999999999999999.99", "1E+99999999", "NaN"):
        rows[0]["amount"] = value
        parsed = parse_payroll_csv(to_csv(rows))
        assert not parsed.ok
        assert [p.line for p in parsed.problems] == [2], value
        assert "importe" in parsed.problems[0].message, value


def test_headers_are_read_whatever_their_case_and_spacing():
    header, rest = payroll_csv(range(1, 3)).split(b"\n", 1)
    shouted = b",".join(b" " + name.upper() + b" " for name in header.split(b","))
    parsed = parse_payroll_csv(shouted + b"\n" + rest)
    assert parsed.ok, parsed.problems
    assert len(parsed.payslips) == 2


def test_json_escapes_no_database_stores_are_dropped_from_names():
    document = json.loads(payroll_json([1]))
    document["payslips"][0]["employee"]["name"] = "P\u00e9rez\ud800 Ana\u0000"
    parsed = parse_payroll_json(json.dumps(document).encode())
    assert parsed.ok, parsed.problems
    assert parsed.payslips[0].employee.full_name == "Pérez Ana"


def test_csv_and_json_round_trip():
    for parsed in (
        parse_payroll_csv(payroll_csv(range(1, 6))),
        parse_payroll_json(payroll_json(range(1, 6))),
    ):
        assert parsed.ok, parsed.problems
        assert len(parsed.payslips) == 5
        assert parsed.company.ccc
