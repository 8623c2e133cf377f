"""A per-advisory category model learned from advisors' corrections (scikit-learn).

Each corrected document becomes an example: its text hashed into a sparse vector
(``HashingVectorizer``: no vocabulary to store, the same text always gives the same vector)
and the category the advisor chose. The model is the list of examples as plain JSON (no
pickle: a stored model can never run code), and a ``KNeighborsClassifier`` over them finds
the closest corrected document. Rules still guard the obvious cases: a learned suggestion
only replaces a weak rule-based one (see ``combine``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any, Final

from pipeline._text import fold
from pipeline.classify import Category, Classification

if TYPE_CHECKING:
    from scipy.sparse import csr_matrix
    from sklearn.feature_extraction.text import HashingVectorizer

MODEL_VERSION: Final = 1
N_FEATURES: Final = 2**18
# Below this cosine similarity a corrected document is not "similar" and teaches nothing.
MIN_SIMILARITY: Final = 0.55
# A rule at least this sure is an obvious case: corrections do not override it.
RULE_GUARD: Final = 0.8
MAX_EXAMPLES: Final = 2000



@cache
def _vectorizer() -> HashingVectorizer:
    # scikit-learn is imported on first use: the API imports this module and never predicts.
    from sklearn.feature_extraction.text import HashingVectorizer

    return HashingVectorizer(
        n_features=N_FEATURES,
        alternate_sign=False,
        norm="l2",
        ngram_range=(1, 2),
        preprocessor=lambda text: " ".join(fold(text).split()),
        # Words only: amounts and dates differ from one document to the next.
        token_pattern=r"(?u)\b[^\W\d_]{2,}\b",  # noqa: S106 - a regex, not a password
    )


def load_libraries() -> None:
    """Import scikit-learn now (a worker does it once, before forking its pool)."""
    _vectorizer()
    import sklearn.neighbors  # noqa: F401


@dataclass(frozen=True, slots=True)
class Example:
    """One corrected document: its text and the category the advisor chose."""

    text: str
    category: str


@dataclass(frozen=True, slots=True)
class LearnedCategory:
    """The category of the most similar corrected document and how similar (cosine, 0..1)."""

    category: Category
    similarity: float


def train_category_model(examples: Sequence[Example]) -> dict[str, Any]:
    """A JSON-serialisable model from ``examples`` (the latest ``MAX_EXAMPLES`` kept)."""
    kept = [e for e in examples if e.text.strip() and e.category in Category.__members__][
        -MAX_EXAMPLES:
    ]
    rows = []
    if kept:
        matrix = _vectorizer().transform([e.text for e in kept]).tocsr()
        for example, row in zip(kept, matrix, strict=True):
            rows.append(
                {
                    "category": example.category,
                    "indices": row.indices.tolist(),
                    "values": [round(float(v), 6) for v in row.data],
                }
            )
    return {"version": MODEL_VERSION, "n_features": N_FEATURES, "examples": rows}


def _matrix(model: dict[str, Any]) -> tuple[csr_matrix, list[str]]:
    import numpy as np
    from scipy.sparse import csr_matrix

    rows = model.get("examples") or []
    data, indices, pointers = [], [], [0]
    for row in rows:
        data += row["values"]
        indices += row["indices"]
        pointers.append(len(indices))
    matrix = csr_matrix(
        (np.asarray(data, dtype=float), np.asarray(indices, dtype=np.int64), pointers),
        shape=(len(rows), model.get("n_features", N_FEATURES)),
    )
    return matrix, [row["category"] for row in rows]


def predict_learned(model: dict[str, Any] | None, text: str) -> LearnedCategory | None:
    """The learned category for ``text``, or None without a model, examples or similar one."""
    if not model or model.get("version") != MODEL_VERSION or not model.get("examples"):
        return None
    if not text.strip():
        return None
    from sklearn.neighbors import KNeighborsClassifier

    matrix, labels = _matrix(model)
    neighbours = min(3, len(labels))
    classifier = KNeighborsClassifier(n_neighbors=neighbours, metric="cosine", weights="distance")
    classifier.fit(matrix, labels)
    vector = _vectorizer().transform([text])
    if vector.nnz == 0:
        return None
    distances, positions = classifier.kneighbors(vector, n_neighbors=neighbours)
    # The closest example decides; its neighbours only matter through the vote below.
    nearest_similarity = 1.0 - float(distances[0][0])
    if nearest_similarity < MIN_SIMILARITY:
        return None
    voted = str(classifier.predict(vector)[0])
    similarity = max(
        (
            1.0 - float(d)
            for d, p in zip(distances[0], positions[0], strict=True)
            if labels[p] == voted
        ),
        default=nearest_similarity,
    )
    return LearnedCategory(Category(voted), round(similarity, 3))


def combine(rule: Classification, learned: LearnedCategory | None) -> Classification:
    """The rule-based suggestion, unless a similar corrected document says otherwise and the
    rule is not an obvious case (confidence < ``RULE_GUARD``)."""
    if learned is None:
        return rule
    invoice = {Category.factura_recibida, Category.factura_emitida}
    if learned.category == rule.category or (
        learned.category in invoice and rule.category in invoice
    ):
        # Agreement (issued vs received stays the NIF rule's call): more sure, same answer.
        boosted = max(rule.confidence, round(0.9 * learned.similarity, 2))
        return Classification(
            rule.category,
            boosted,
            (*rule.reasons, f"advisor corrections agree ({learned.similarity:.2f})"),
        )
    if rule.confidence >= RULE_GUARD:
        return Classification(
            rule.category,
            rule.confidence,
            (*rule.reasons, f"advisor corrections suggest {learned.category}; rule kept"),
        )
    return Classification(
        learned.category,
        round(0.9 * learned.similarity, 2),
        (
            f"similar to a document an advisor filed as {learned.category} "
            f"(similarity {learned.similarity:.2f})",
            *rule.reasons,
        ),
    )
