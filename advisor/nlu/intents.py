"""What a message asks for: a multi-label intent classifier trained from the project's own utterances.

One logistic regression per intent (one-vs-rest) over TF-IDF features of the message's *shape*:
names replaced by their kind and digits by 0 ("how much memory does MODEL need at 0k context on a
GPU"), so it learns phrasing, not the catalog, and new models need no retraining. Features are
character n-grams within words (robust to typos) plus word unigrams and bigrams.

The labelled utterances are ``data/train.yaml``; training (scikit-learn, liblinear, fixed seed) is
deterministic and writes ``data/intent_model.json``, which is committed and read at run time with
plain Python (no scikit-learn import on the request path):

    python -m advisor.nlu.intents          # retrain after editing data/train.yaml

The model records the SHA-256 of the data it was trained on; if the data changed and scikit-learn
is installed, the model is retrained in memory at first use (and a test fails until it is rebuilt).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import threading
from collections import Counter
from pathlib import Path

log = logging.getLogger(__name__)

INTENTS = (
    "recommend",
    "license",
    "memory",
    "speed",
    "cost",
    "compare",
    "deploy",
    "info",
    "search",
    "gpus",
    "licenses",
    "help",
)
# Follow-up moves, learned like the intents (data/moves.yaml and the `move:` of conversation turns in train.yaml):
# "whatif" re-runs an earlier analysis with changed facts, "alternative" looks for another option by an objective.
MOVES = ("whatif", "alternative")
LABELS = INTENTS + MOVES
# intent -> the tool that answers it (help is answered without a tool)
TOOL_OF = {
    "recommend": "select_models",
    "license": "check_license",
    "memory": "estimate_memory",
    "speed": "estimate_throughput",
    "cost": "estimate_cost",
    "compare": "compare_benchmarks",
    "deploy": "plan_deployment",
    "info": "get_model",
    "search": "find_models",
    "gpus": "list_gpus",
    "licenses": "list_licenses",
}
INTENT_OF = {tool: intent for intent, tool in TOOL_OF.items()}
DATA = Path(__file__).resolve().parent / "data" / "train.yaml"
MOVES_DATA = Path(__file__).resolve().parent / "data" / "moves.yaml"
MODEL = Path(__file__).resolve().parent / "data" / "intent_model.json"
THRESHOLD = 0.5
C = 8.0  # inverse regularisation strength


def features(shape: str) -> list[str]:
    """Character 2-5-grams inside each word (padded with spaces), word unigrams and bigrams."""
    words = shape.split()
    out: list[str] = []
    for w in words:
        padded = f" {w} "
        for n in range(2, 6):
            if len(padded) < n:
                break
            out.extend(padded[i : i + n] for i in range(len(padded) - n + 1))
    out.extend("w:" + w for w in words)
    out.extend(f"b:{a}_{b}" for a, b in zip(words, words[1:]))
    return out


def examples(path: Path = DATA, moves: Path | None = MOVES_DATA) -> list[tuple[str, list[str]]]:
    """(text, labels) pairs of the labelled data: single utterances, conversation turns and follow-up moves.

    A follow-up turn ("and at 100M?") is trained with no intent of its own (its intent comes from an earlier turn),
    only with its move, if it has one (``move: whatif``).
    """
    import yaml

    out = []
    for file in [path, moves] if moves is not None else [path]:
        for item in yaml.safe_load(file.read_text(encoding="utf-8")):
            for turn in item.get("turns", [item]):
                if "say" not in turn:
                    continue
                labels = [] if turn.get("followup") else list(turn.get("intents") or [])
                if turn.get("move") in MOVES:
                    labels.append(turn["move"])
                out.append((turn["say"], labels))
    return out


def data_hash(path: Path = DATA, moves: Path | None = MOVES_DATA) -> str:
    digest = hashlib.sha256(path.read_bytes())
    if moves is not None and moves.exists():
        digest.update(moves.read_bytes())
    return digest.hexdigest()


def train(pairs: list[tuple[str, list[str]]]) -> dict:
    """Fit the classifier; returns the artefact (plain JSON-able dict). Deterministic for the same data."""
    import numpy as np
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    from advisor.nlu.shape import shape_of

    shapes = [shape_of(text) for text, _ in pairs]
    vec = TfidfVectorizer(analyzer=features, sublinear_tf=True, min_df=2, norm="l2")
    x = vec.fit_transform(shapes)
    vocab = vec.get_feature_names_out()
    weights = np.zeros((len(vocab), len(LABELS)))
    intercepts = []
    for j, label in enumerate(LABELS):
        y = np.array([label in intents for _, intents in pairs], dtype=int)
        if y.sum() == 0:
            intercepts.append(-10.0)
            continue
        clf = LogisticRegression(C=C, solver="liblinear", class_weight="balanced", random_state=0, max_iter=1000)
        clf.fit(x, y)
        weights[:, j] = clf.coef_[0]
        intercepts.append(float(clf.intercept_[0]))
    feats = {}
    for i, gram in enumerate(vocab):
        row = weights[i]
        if np.abs(row).max() < 1e-3:
            continue
        feats[str(gram)] = [round(float(vec.idf_[i]), 4), *(round(float(w), 4) for w in row)]
    return {
        "labels": list(LABELS),
        "intercepts": [round(b, 4) for b in intercepts],
        "features": feats,
        "trained_on": len(pairs),
        "C": C,
    }


class IntentModel:
    def __init__(self, artefact: dict):
        self.labels = artefact["labels"]
        self.intercepts = artefact["intercepts"]
        self.features = artefact["features"]

    def scores(self, shape: str) -> dict[str, float]:
        counts = Counter(features(shape))
        vec = {g: (1.0 + math.log(c)) * self.features[g][0] for g, c in counts.items() if g in self.features}
        norm = math.sqrt(sum(v * v for v in vec.values())) or 1.0
        out = {}
        for j, label in enumerate(self.labels):
            z = self.intercepts[j] + sum(v / norm * self.features[g][j + 1] for g, v in vec.items())
            out[label] = 1.0 / (1.0 + math.exp(-max(min(z, 50.0), -50.0)))
        return out


_lock = threading.Lock()
_model: IntentModel | None = None


def model() -> IntentModel:
    global _model
    with _lock:
        if _model is None:
            _model = _load()
        return _model


def _load() -> IntentModel:
    artefact = json.loads(MODEL.read_text(encoding="utf-8")) if MODEL.exists() else None
    current = data_hash() if DATA.exists() else None
    if artefact is not None and (current is None or artefact.get("data_sha256") == current):
        return IntentModel(artefact)
    try:
        log.warning("intent model is missing or older than %s; training it in memory", DATA.name)
        fresh = train(examples())
        fresh["data_sha256"] = current
        return IntentModel(fresh)
    except ImportError:
        if artefact is None:
            raise
        log.warning("scikit-learn is not installed; using the intent model as committed")
        return IntentModel(artefact)


def scores(shape: str) -> dict[str, float]:
    return model().scores(shape)


def build(path: Path = MODEL) -> dict:
    """Retrain from data/train.yaml and write the committed artefact."""
    artefact = train(examples())
    artefact["data_sha256"] = data_hash()
    path.write_text(json.dumps(artefact, sort_keys=True, separators=(",", ":")) + "\n", encoding="utf-8")
    global _model
    with _lock:
        _model = IntentModel(artefact)
    return artefact


def _main() -> None:
    artefact = build()
    print(
        f"trained on {artefact['trained_on']} utterances: {len(artefact['features'])} features, "
        f"{len(artefact['labels'])} intents -> {MODEL}"
    )


if __name__ == "__main__":
    _main()

__all__ = ["INTENTS", "MOVES", "LABELS", "TOOL_OF", "INTENT_OF", "THRESHOLD", "scores", "build", "examples", "features"]
