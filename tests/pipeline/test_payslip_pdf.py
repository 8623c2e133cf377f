"""The rendered payslip: every block of the official model and the worked example's figures."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import date
from decimal import Decimal as D

from pypdf import PdfReader

from pipeline.payroll import PayrollInput, calculate_payslip
from pipeline.payroll_rates import ContractType
from pipeline.payslip_pdf import PayslipHeader, euros, payslip_hash, render_payslip

HEADER = PayslipHeader(
    company_name="Demo Comercial SL",
    company_address="Calle Mayor 1, 28013 Madrid",
    company_nif="B12345674",
    company_ccc="28123456742",
    employee_name="García López, Ana",
    employee_nif="12345678Z",
    employee_naf="281234567840",
    professional_group="Oficial administrativo",
    contribution_group=5,
    category="Oficial 1ª",
    seniority=date(2019, 4, 1),
    contract_type="Indefinido",
)
FIGURES = calculate_payslip(
    PayrollInput(2026, 3, 5, ContractType.INDEFINIDO, D("2000.00"), D("12.00"))
)


def text_of(pdf: bytes) -> str:
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 1
    return " ".join(reader.pages[0].extract_text().split())


def test_every_required_block_is_on_the_page():
    text = text_of(render_payslip(HEADER, FIGURES))
    for block in (
        "Empresa:", "Demo Comercial SL", "Domicilio:", "Calle Mayor 1, 28013 Madrid",
        "CIF:", "B12345674", "CCC:", "28 1234567 42",
        "Trabajador:", "García López, Ana", "NIF:", "12345678Z",
        "Núm. afiliación S.S.:", "28/12345678/40", "Grupo profesional:", "Oficial administrativo",
        "Grupo de cotización: 5",
        "Periodo de liquidación: del 1 de marzo al 31 de marzo de 2026", "Total días: 30",
        "I. DEVENGOS", "1. Percepciones salariales", "2. Percepciones no salariales",
        "A. TOTAL DEVENGADO", "II. DEDUCCIONES",
        "1. Aportación del trabajador a las cotizaciones a la Seguridad Social",
        "2. Impuesto sobre la renta de las personas físicas", "3. Anticipos",
        "4. Valor de los productos recibidos en especie", "5. Otras deducciones",
        "B. TOTAL A DEDUCIR", "LÍQUIDO TOTAL A PERCIBIR (A-B)",
        "Firma y sello de la empresa", "RECIBÍ",
        "DETERMINACIÓN DE LAS BASES DE COTIZACIÓN A LA SEGURIDAD SOCIAL",
        "Importe remuneración mensual", "Importe prorrata pagas extraordinarias",
        "2. Contingencias profesionales y conceptos de recaudación conjunta",
        "Fondo de Garantía Salarial", "Total aportación empresarial",
        "4. Base sujeta a retención del IRPF",
    ):  # fmt: skip
        assert block in text, block


def test_the_worked_example_figures_are_printed_in_spanish_format():
    text = text_of(render_payslip(HEADER, FIGURES))
    for figure in (
        "Salario base 2.000,00", "A. TOTAL DEVENGADO 2.000,00 €",
        "Contingencias comunes 4,70 % base 2.333,33 109,67",
        "0,15 % base 2.333,33 3,50", "Desempleo 1,55 % base 2.333,33 36,17",
        "Formación profesional 0,10 % base 2.333,33 2,33", "Total aportaciones 151,67",
        "12,00 % base 2.000,00 240,00", "B. TOTAL A DEDUCIR 391,67 €",
        "LÍQUIDO TOTAL A PERCIBIR (A-B) 1.608,33 €",
        "Importe remuneración mensual 2.000,00", "Importe prorrata pagas extraordinarias 333,33",
        "TOTAL 2.333,33 23,60 % 550,67", "2.333,33 0,75 % 17,50", "AT y EP 2.333,33 1,00 % 23,33",
        "Desempleo 2.333,33 5,50 % 128,33", "Formación profesional 2.333,33 0,60 % 14,00",
        "Fondo de Garantía Salarial 2.333,33 0,20 % 4,67",
        "Total aportación empresarial 738,50 €",
        "4. Base sujeta a retención del IRPF 2.000,00",
    ):  # fmt: skip
        assert figure in text, figure


def test_spanish_number_format():
    assert euros(D("1234567.5")) == "1.234.567,50"
    assert euros(D("0.07")) == "0,07"
    assert euros(D("-1000")) == "-1.000,00"


def test_same_data_same_bytes_and_hash_other_data_other_hash():
    assert render_payslip(HEADER, FIGURES) == render_payslip(HEADER, FIGURES)
    moved = replace(HEADER, company_address="Otra calle 2")
    assert payslip_hash(HEADER, FIGURES) == payslip_hash(HEADER, FIGURES)
    assert payslip_hash(moved, FIGURES) != payslip_hash(HEADER, FIGURES)


def test_names_beyond_western_europe_print_letter_for_letter():
    for name in ("Ștefan Rădulescu", "Łukasz Wiśniewski", "Zdeněk Dvořák", "Ζωή Νικολάου"):
        pdf = render_payslip(replace(HEADER, employee_name=name), FIGURES)
        assert name in text_of(pdf), name
        assert render_payslip(replace(HEADER, employee_name=name), FIGURES) == pdf


def test_western_european_text_embeds_no_font():
    pdf = render_payslip(replace(HEADER, employee_name="Íñigo Agüero Çelik"), FIGURES)
    assert b"/FontFile2" not in pdf
    assert len(pdf) < 8_000
