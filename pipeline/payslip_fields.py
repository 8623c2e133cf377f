"""Fields of a payslip (nómina) read from its text layer or OCR, whatever program printed it.

In: the document text and the valid tax ids found in it. Out: `PayslipField` values for
``issuer_tax_id`` (the employer), ``employee_tax_id``, ``period`` (YYYY-MM), ``gross``
(total devengado), ``net`` (líquido a percibir) and ``irpf_rate`` (the withholding %).

Payroll programs put labels and amounts anywhere: on one line, the amount far to the right;
the amount on the next line; a strip of labels above a strip of amounts. So each figure
gathers candidates near its labels and the payslip's own arithmetic decides between them:
total devengado − total a deducir = líquido (Orden ESS/2098/2014, "A − B"), and the IRPF
amount is the rate applied to a base printed on the slip (REFERENCE §1.6).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Final, Protocol

from stdnum.es import dni

from pipeline._text import fold
from pipeline.amounts import Amount, find_amounts, find_dates, format_amount
from pipeline.spanish import MONTH_NUMBERS

CENT: Final = Decimal("0.01")


class TaxIdFound(Protocol):
    """A valid tax id found in the text (``pipeline.invoice_fields.TaxIdHit``)."""

    @property
    def value(self) -> str: ...

    @property
    def start(self) -> int: ...

    @property
    def repaired(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class PayslipField:
    """One field: its JSON value, a confidence 0..1 and why it is not higher."""

    name: str
    value: str
    confidence: float
    notes: tuple[str, ...] = ()


def read_payslip(text: str, tax_ids: Sequence[TaxIdFound]) -> list[PayslipField]:
    """The payslip fields found in ``text``; ``tax_ids`` are the valid ids in it, in order."""
    lines = text.split("\n")
    folded = [fold(line) for line in lines]
    found = _parties(folded, tax_ids)
    if (period := _period(folded)) is not None:
        found.append(period)
    found += _totals(folded)
    if (rate := _irpf_rate(folded)) is not None:
        found.append(rate)
    return found


# --- employer and employee ----------------------------------------------------------------

_EMPLOYER_CUE: Final = re.compile(
    r"\b(empresa|empleador|c\W?[i1l]\W?f\b|razon social|cta\W{0,2} ?cotiz|c\W?c\W?c\b|"
    r"cuenta (de )?cotizacion)"
)
_WORKER_CUE: Final = re.compile(
    r"\b(trabajador|trabajadora|empleado|empleada|d\W?n\W?[il1]\b|n\W?[il1]\W?e\b|afiliacion|"
    r"n\W?a\W?f\b|n\W?s\W?s\b)"
)


def is_person_id(value: str) -> bool:
    """DNI (digits first) and NIE (X/Y/Z) and the K/L/M NIFs are people; CIFs are companies."""
    return value[:1].isdigit() or value[:1] in "XYZKLM"


def _cue(folded: Sequence[str], line: int, column: int) -> float:
    """+1 when the label of the id names the employer, −1 the worker, 0 neither.

    On the id's own line the last label before it counts; on the lines above (a row of
    labels over a row of values) the label nearest the id's horizontal position.
    """
    own = folded[line]
    cues = _cues_in(own[:column])
    if cues:
        return max(cues)[1]
    where = column / max(len(own), 1)
    for weight, above in ((0.8, line - 1), (0.5, line - 2)):
        if above < 0:
            break
        cues = _cues_in(folded[above])
        if cues:
            width = max(len(folded[above]), 1)
            return weight * min(cues, key=lambda c: abs(c[0] / width - where))[1]
    return 0.0


def _cues_in(text: str) -> list[tuple[int, float]]:
    """(position, +1 employer / −1 worker) of each party label in ``text``."""
    cues = [(m.start(), 1.0) for m in _EMPLOYER_CUE.finditer(text)]
    return cues + [(m.start(), -1.0) for m in _WORKER_CUE.finditer(text)]


def _parties(folded: Sequence[str], tax_ids: Sequence[TaxIdFound]) -> list[PayslipField]:
    starts = [0]
    for line in folded[:-1]:
        starts.append(starts[-1] + len(line) + 1)
    scored = []
    for order, hit in enumerate(tax_ids):
        line = max(0, sum(1 for s in starts if s <= hit.start) - 1)
        cue = _cue(folded, line, hit.start - starts[line])
        scored.append((hit, cue, order))
    found: list[PayslipField] = []

    def add(name: str, hit: TaxIdFound, confidence: float, why: str | None) -> None:
        notes = [why] if why else []
        if hit.repaired:
            confidence *= 0.7
            notes.append("OCR letter/digit confusion repaired by checksum")
        found.append(PayslipField(name, hit.value, round(confidence, 3), tuple(notes)))

    # A company id is the employer's; among people, the label beside the id decides, and
    # with no label the first one printed (the employer's block comes first in the model).
    employer_rank = sorted(
        scored, key=lambda s: (-(2.0 * (not is_person_id(s[0].value)) + 1.5 * s[1]), s[2])
    )
    employer = None
    if employer_rank:
        hit, cue, _ = employer_rank[0]
        people = [s for s in scored if is_person_id(s[0].value)]
        if not is_person_id(hit.value) and cue >= 0:
            employer = hit
            add("issuer_tax_id", hit, 0.9, None)
        elif not is_person_id(hit.value):
            employer = hit
            add("issuer_tax_id", hit, 0.7, "a company id printed beside the worker's labels")
        elif cue > 0:
            employer = hit
            add("issuer_tax_id", hit, 0.75, "the employer is a person (NIF beside its label)")
        elif len(people) >= 2 and all(s[1] <= 0 for s in people):
            first = min(people, key=lambda s: s[2])
            if first[1] == 0:
                employer = first[0]
                add("issuer_tax_id", first[0], 0.5, "two personal ids: the first taken as employer")
    workers = sorted(
        (s for s in scored if is_person_id(s[0].value) and s[0] is not employer),
        key=lambda s: (s[1], s[2]),
    )
    if workers:
        hit, cue, _ = workers[0]
        add("employee_tax_id", hit, 0.9 if cue < 0 else 0.75, None)
    elif (repaired := _labelled_dni(folded)) is not None:
        found.append(
            PayslipField("employee_tax_id", repaired, 0.6, ("DNI letter misread by OCR, restored",))
        )
    return found


# The DNI check letters OCR reads as a digit ("T" as 1, "Q" as 0…) or as a bracket ("J" as
# ")"), or drops.
_LETTER_AS_DIGIT: Final = {"1": "TJL", "7": "T", "0": "QDO", "5": "S", "8": "B", "2": "Z"}
_DNI_LABELLED: Final = re.compile(
    r"\b(?:dni|nif|n\W?[il1]\W?f|d\W?n\W?[il1])\W[^\d\n]{0,25}(?<![\w])(\d{8})"
    r"(\d|[)\]}|!]|(?=\s|$))(?!\w)"
)


def _labelled_dni(folded: Sequence[str]) -> str | None:
    """A DNI behind a DNI/NIF label whose check letter OCR misread or dropped."""
    for line in folded:
        for match in _DNI_LABELLED.finditer(line):
            digits, last = match.group(1), match.group(2)
            letter = dni.calc_check_digit(digits)
            if not last.isdigit() or letter in _LETTER_AS_DIGIT.get(last, ""):
                return digits + letter
    return None


# --- period -------------------------------------------------------------------------------

_MONTH_WORDS: Final = dict(MONTH_NUMBERS) | {
    name[:3]: number for name, number in MONTH_NUMBERS.items()
}
_PERIOD_LABEL: Final = re.compile(r"\b(periodo|period|mes|liquidacion|nomina)\b")
# Dates that are not the period: seniority, hiring, birth, payment and issue dates.
_OTHER_DATE: Final = re.compile(r"antig|\balta\b|nacim|\bpago\b|emision|vencim|\bbaja\b|firma")
_NUMERIC_MONTH: Final = re.compile(r"(?<![\d/.\-])(0?[1-9]|1[0-2])\s?[/\-.]\s?(20\d\d)(?![\d/.\-])")
# OCR splits a capital off a month name ("J UNIO", "01J UN 26"): a space may follow it.
_WORD_MONTH: Final = re.compile(
    r"(?<![a-z])("
    + "|".join(w[0] + " ?" + w[1:] for w in sorted(_MONTH_WORDS, key=len, reverse=True))
    + r")\.?(?:\s*(?:de|del|-|/)?\s*)(20\d\d|\d\d)\b"
)


def _month_candidates(window: str) -> list[tuple[tuple[int, int], float]]:
    """(year, month) candidates in ``window`` with a weight: a range or MM/YYYY is surest."""
    out: list[tuple[tuple[int, int], float]] = []
    dates = [d for d, _ in find_dates(window)]
    if len(dates) >= 2 and 0 <= (dates[1] - dates[0]).days <= 31:
        out.append(((dates[0].year, dates[0].month), 3.0))
    elif dates:
        out.append(((dates[0].year, dates[0].month), 1.5))
    for match in _NUMERIC_MONTH.finditer(window):
        out.append(((int(match.group(2)), int(match.group(1))), 3.0))
    for match in _WORD_MONTH.finditer(window):
        year = int(match.group(2))
        month = _MONTH_WORDS[match.group(1).replace(" ", "")]
        out.append(((year + 2000 if year < 100 else year, month), 2.5))
    return out


def _period(folded: Sequence[str]) -> PayslipField | None:
    votes: dict[tuple[int, int], float] = defaultdict(float)
    usable = ["" if _OTHER_DATE.search(line) else line for line in folded]
    for number, line in enumerate(usable):
        if (label := _PERIOD_LABEL.search(line)) is None:
            continue
        # The value follows the label, on its line or up to three lines below (label rows).
        window = " ".join([line[label.end() :], *usable[number + 1 : number + 4]])
        seen: set[tuple[int, int]] = set()
        for month, weight in _month_candidates(window):
            if month not in seen:
                votes[month] += weight
                seen.add(month)
    labelled = bool(votes)
    if not votes:
        # No label: the month most dates on the slip fall in (period bounds, signature).
        for line in usable:
            for month, weight in _month_candidates(line):
                votes[month] += weight / 3
    votes = defaultdict(float, {m: v for m, v in votes.items() if 1 <= m[1] <= 12})
    if not votes:
        return None
    (year, month), _ = max(votes.items(), key=lambda item: item[1])
    confidence = 0.85 if labelled else 0.6
    notes = () if labelled else ("no period label: the month most dates fall in",)
    return PayslipField("period", f"{year}-{month:02d}", confidence, notes)


# --- totals -------------------------------------------------------------------------------

_GROSS: Final = re.compile(
    r"total\s?devengad[oa]s?|total\s?devengos|\bt\.\s?devengad[oa]|\btot\.?\s?devengad[oa]|"
    r"total\s?bruto|salario\s?bruto|importe\s?bruto|\bbruto\b"
)
_DEDUCTED: Final = re.compile(
    r"total\s?a\s?deducir|total\s?deducciones|total\s?deducido|\bt\.\s?a\s?deducir|"
    r"\bt\.\s?deducc\w*|\btot\.?\s?deducc\w*|\bdeducciones\b"
)
_PERCENT_AFTER: Final = re.compile(r"\s?%")
# What may stand beside the amounts on a line of bare amounts.
_BARE_LINE_REST: Final = re.compile(r"[\s€\-]|eur")
_NET: Final = re.compile(
    r"liquido\s?(?:total\s?)?a\s?percibir|neto\s?a\s?percibir|total\s?a\s?percibir|"
    r"\ba\s?percibir\b|\bliquido\b|\bneto\b|a\s?cobrar"
)


def _money(text: str) -> list[Amount]:
    """The amounts in ``text`` that are euros: "4,70 %" on a contribution line is a rate."""
    return [a for a in find_amounts(text) if not _PERCENT_AFTER.match(text, a.end)]


def _near(folded: Sequence[str], label: re.Pattern[str]) -> dict[Decimal, float]:
    """Amounts near each ``label``, scored: right after it on its line, then the lines below,
    the one in the label's column first (a strip of labels above a strip of amounts)."""
    scores: dict[Decimal, float] = {}

    def keep(value: Decimal, score: float) -> None:
        value = abs(value)
        if value > 0:
            scores[value] = max(scores.get(value, 0.0), score)

    for number, line in enumerate(folded):
        for match in label.finditer(line):
            after = _money(line[match.end() :])
            for index, amount in enumerate(after):
                keep(amount.value, 3.0 if index == 0 else 1.0)
            if after:
                continue
            column = (match.start() + match.end()) / 2 / max(len(line), 1)
            for distance, below in enumerate(folded[number + 1 : number + 5], start=1):
                amounts = _money(below)
                if not amounts:
                    continue
                width = max(len(below), 1)
                nearest = min(amounts, key=lambda a: abs((a.start + a.end) / 2 / width - column))
                for amount in amounts:
                    keep(amount.value, (2.5 if amount is nearest else 1.0) - 0.3 * distance)
    return scores


def _totals(folded: Sequence[str]) -> list[PayslipField]:
    gross, deducted, net = (_near(folded, label) for label in (_GROSS, _DEDUCTED, _NET))
    everywhere = {abs(a.value) for line in folded for a in find_amounts(line)}
    best: tuple[float, Decimal, Decimal, float, str | None] | None = None
    for g, g_score in gross.items():
        for n, n_score in net.items():
            if n >= g:
                continue  # a payslip without any deduction is too rare to read one so
            d = g - n
            if d in deducted:
                score, confidence, why = g_score + n_score + deducted[d] + 4, 0.9, None
            elif d in everywhere:
                score, confidence, why = g_score + n_score + 2, 0.8, None
            else:
                score, confidence = g_score + n_score, 0.6
                why = "total devengado − líquido matches no deductions total on the slip"
            if best is None or score > best[0]:
                best = (score, g, n, confidence, why)
    found: list[PayslipField] = []
    if best is not None:
        _, g, n, confidence, why = best
        notes = (why,) if why else ()
        found.append(PayslipField("gross", format_amount(g), confidence, notes))
        found.append(PayslipField("net", format_amount(n), confidence, notes))
        return found
    if (apart := _printed_apart(folded)) is not None:
        why = ("labels and amounts read apart: paired by total devengado − a deducir",)
        found.append(PayslipField("gross", format_amount(apart[0]), 0.6, why))
        found.append(PayslipField("net", format_amount(apart[1]), 0.6, why))
        return found
    # One of the two is missing (or net > gross): each alone, less sure.
    if gross:
        found.append(PayslipField("gross", format_amount(max(gross, key=gross.__getitem__)), 0.6))
    if net:
        value = max(net, key=net.__getitem__)
        notes = ("net exceeds gross",) if gross else ()
        found.append(PayslipField("net", format_amount(value), 0.4 if gross else 0.6, notes))
    return found


def _printed_apart(folded: Sequence[str]) -> tuple[Decimal, Decimal] | None:
    """(gross, net) from a column of bare amounts, as OCR returns a right-hand TOTALES
    column it read as a block of its own: amounts g, d, n in reading order with g − d = n
    (total devengado, total a deducir, líquido)."""
    column: list[Decimal] = []
    for line in folded:
        amounts = _money(line)
        rest = line
        for amount in reversed(amounts):
            rest = rest[: amount.start] + rest[amount.end :]
        if amounts and not _BARE_LINE_REST.sub("", rest):
            column += [abs(a.value) for a in amounts if a.value]
    # A slip deducts less than it pays out, and prints its three totals close together:
    # that rules out a total devengado minus one line item giving another line item.
    best: tuple[tuple[bool, int, Decimal], Decimal, Decimal] | None = None
    for i, g in enumerate(column):
        for j in range(i + 1, len(column)):
            n = g - column[j]
            if n <= 0 or n not in column[j + 1 :]:
                continue
            k = column.index(n, j + 1)
            rank = (n > column[j], i - k, g)
            if best is None or rank > best[0]:
                best = (rank, g, n)
    return (best[1], best[2]) if best is not None else None


# --- IRPF withholding rate ----------------------------------------------------------------

# OCR reads the dotted "I.R.P.F." as "LR.P.F.", "1.R.P.F." or "T.R.P.F.".
_IRPF_LABEL: Final = re.compile(
    r"(?<![a-z])[il1t|]\W?r\W?p\W?f|retencion|tributacion|renta de las personas fisicas"
)
_RATE: Final = re.compile(r"(?<![\d.,])(\d{1,2}[.,]\s?\d{1,2})(?![\d])\s?(%?)")


def _irpf_rate(folded: Sequence[str]) -> PayslipField | None:
    """The IRPF % on the withholding line, confirmed when some base on the slip times it
    gives an amount beside it; an unconfirmed "12,00 %" on an IRPF line is kept, less sure."""
    bases = {abs(a.value) for line in folded for a in find_amounts(line) if a.value}
    unconfirmed: str | None = None
    for number, line in enumerate(folded):
        if not _IRPF_LABEL.search(line):
            continue
        # The withheld amount is on the concept's line or up to two lines below.
        held_lines = folded[number : number + 3]
        near = {abs(a.value) for text in held_lines for a in find_amounts(text) if a.value}
        # The rate is on the concept's line or the next ("RETENCIÓN IRPF" / "9,41%"), else in
        # a CUANTÍA column printed before it; a "%" right beside the label outranks a rate
        # two lines up that some other amount happens to confirm.
        for lines_tried in ((number, number + 1), (number - 1, number - 2)):
            for index in (k for k in lines_tried if 0 <= k < len(folded)):
                for match in _RATE.finditer(folded[index]):
                    rate = Decimal(match.group(1).replace(",", ".").replace(" ", ""))
                    if not 0 < rate < 50:
                        continue
                    for base in bases:
                        held = (base * rate / 100).quantize(CENT, rounding=ROUND_HALF_UP)
                        if held in near and held != base and held > 0:
                            return PayslipField("irpf_rate", format_amount(rate), 0.85)
                    if match.group(2) and unconfirmed is None:
                        unconfirmed = format_amount(rate)
            if unconfirmed is not None:
                break
    if unconfirmed is not None:
        return PayslipField(
            "irpf_rate", unconfirmed, 0.5, ("no base on the slip gives the withheld amount",)
        )
    return None
