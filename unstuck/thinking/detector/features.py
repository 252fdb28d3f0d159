"""Turn texts into the classifier's features: a static sentence embedding plus the cue counts."""

from __future__ import annotations

import functools
import os
import re
from pathlib import Path
from typing import Any

import numpy as np

from unstuck.thinking.biases import BIAS_KEYS
from unstuck.thinking.detector import cues

MODEL_DIR = Path(__file__).resolve().parent.parent / "model"
CUE_FEATURES = 3 * len(BIAS_KEYS) + 3


@functools.cache
def embedding_model() -> Any:
    """The distilled static model, loaded once per process from the repo (never downloaded)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from model2vec import StaticModel

    return StaticModel.from_pretrained(str(MODEL_DIR))


def embed(texts: list[str]) -> np.ndarray:
    if not texts:
        return np.zeros((0, 256), dtype=np.float32)
    vectors = embedding_model().encode(texts, show_progress_bar=False)
    return np.asarray(vectors, dtype=np.float32)


def cue_features(text: str) -> np.ndarray:
    """Per bias: anchor found, support found, both; then guards, a question, a contrast."""
    row = np.zeros(CUE_FEATURES, dtype=np.float32)
    hits = cues.anchor_hits(text)
    for i, bias in enumerate(BIAS_KEYS):
        anchor = bool(hits[bias])
        support = cues.support_hit(text, bias)
        row[3 * i] = anchor
        row[3 * i + 1] = support
        row[3 * i + 2] = anchor and support
    guards = cues.guard_count(text)
    row[-3] = min(guards, 3) / 3
    row[-2] = "?" in text
    row[-1] = re.search(r"\b(?:but|however|although|though)\b", text, re.I) is not None
    return row


def featurise(texts: list[str]) -> np.ndarray:
    """Texts must already be normalised (cues.normalise)."""
    cue_rows = np.stack([cue_features(t) for t in texts]) if texts else np.zeros((0, CUE_FEATURES))
    return np.hstack([embed(texts), cue_rows]).astype(np.float32)
