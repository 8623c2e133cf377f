"""Learning from advisors: a correction changes the next prediction of a similar document."""

from __future__ import annotations

import json

from pipeline.classify import Category, suggest_category
from pipeline.learning import Example, combine, predict_learned, train_category_model
from tests.extraction_documents import make_payslip

GYM = "GIMNASIO OLIMPO\nCuota mensual socio {n}\nPeriodo {month}\nImporte cuota 45,00\nDomiciliado"


def test_a_correction_changes_the_next_prediction_of_a_similar_document() -> None:
    first, second = GYM.format(n=101, month="marzo"), GYM.format(n=207, month="abril")
    before = suggest_category(second)
    assert before.category is Category.otros
    model = train_category_model([Example(first, "factura_recibida")])
    json.dumps(model)  # stored as JSON, never pickle
    learned = predict_learned(model, second)
    assert learned is not None
    assert learned.category is Category.factura_recibida
    after = combine(before, learned)
    assert after.category is Category.factura_recibida
    assert "advisor filed" in after.reasons[0]


def test_unrelated_documents_learn_nothing() -> None:
    model = train_category_model([Example(GYM.format(n=1, month="mayo"), "factura_recibida")])
    assert predict_learned(model, "CONTRATO DE ARRENDAMIENTO\nREUNIDOS\nEXPONEN") is None
    assert predict_learned(None, "anything") is None
    assert predict_learned(train_category_model([]), "anything") is None


def test_rules_still_guard_the_obvious_cases() -> None:
    payslip = make_payslip(3).text
    rule = suggest_category(payslip)
    assert rule.category is Category.nomina
    assert rule.confidence >= 0.8
    model = train_category_model([Example(make_payslip(4).text, "otros")])
    learned = predict_learned(model, payslip)
    assert learned is not None
    assert learned.category is Category.otros
    kept = combine(rule, learned)
    assert kept.category is Category.nomina
    assert "rule kept" in kept.reasons[-1]


def test_the_latest_examples_vote() -> None:
    examples = [Example(GYM.format(n=n, month="junio"), "ticket") for n in range(3)]
    examples += [Example("Recibo comunidad de propietarios cuota trimestral", "otros")]
    learned = predict_learned(train_category_model(examples), GYM.format(n=9, month="julio"))
    assert learned is not None
    assert learned.category is Category.ticket
