"""Turn texts into the classifier's features: sentence embeddings plus the cue counts.

Two encoders: the distilled static model in the repo (a table lookup, for the live note while
typing) and all-MiniLM-L6-v2 (encoder.py, about 15 ms a statement, for saved text)."""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path

import numpy as np

from unstuck.thinking.biases import BIAS_KEYS
from unstuck.thinking.detector import cues

MODEL_DIR = Path(__file__).resolve().parent.parent / "model"
CUE_FEATURES = 3 * len(BIAS_KEYS) + 4
STATIC_DIMENSIONS = 256


class StaticEncoder:
    """The distilled static model (model2vec format): a token's vector is a row of one int8
    matrix, a text's the normalised mean of its tokens' rows. Read straight from the repo with
    safetensors and tokenizers, since importing model2vec itself costs more time than the whole
    lookup (it pulls in the model hub client, which is never used here)."""

    def __init__(self, path: Path) -> None:
        from safetensors import safe_open
        from tokenizers import Tokenizer

        config = json.loads((path / "config.json").read_text())
        self.normalize = bool(config.get("normalize", True))
        self.tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
        unk = json.loads((path / "tokenizer.json").read_text())["model"].get("unk_token")
        self.unk_id = self.tokenizer.token_to_id(unk) if unk else None
        with safe_open(str(path / "model.safetensors"), framework="np") as f:
            self.embedding = f.get_tensor("embeddings")
        self.dim = int(self.embedding.shape[1])

    def encode(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        encodings = self.tokenizer.encode_batch_fast(texts, add_special_tokens=False)
        for i, encoding in enumerate(encodings):
            ids = [t for t in encoding.ids if t != self.unk_id]
            if ids:
                out[i] = self.embedding[ids].astype(np.float32).mean(axis=0)
        if self.normalize:
            out /= np.linalg.norm(out, axis=1, keepdims=True) + 1e-32
        return out


@functools.cache
def embedding_model() -> StaticEncoder:
    """The distilled static model, loaded once per process from the repo (never downloaded)."""
    return StaticEncoder(MODEL_DIR)


def embed(texts: list[str]) -> np.ndarray:
    if not texts:
        return np.zeros((0, STATIC_DIMENSIONS), dtype=np.float32)
    return embedding_model().encode(texts)


def cue_features(text: str) -> np.ndarray:
    """Per bias: anchor found, support found, both; then guards, a question, a contrast,
    and whether the writer goes on to find out or test."""
    row = np.zeros(CUE_FEATURES, dtype=np.float32)
    hits = cues.anchor_hits(text)
    for i, bias in enumerate(BIAS_KEYS):
        anchor = bool(hits[bias])
        support = cues.support_hit(text, bias)
        row[3 * i] = anchor
        row[3 * i + 1] = support
        row[3 * i + 2] = anchor and support
    guards = cues.guard_count(text)
    row[-4] = min(guards, 3) / 3
    row[-3] = "?" in text
    row[-2] = re.search(r"\b(?:but|however|although|though)\b", text, re.I) is not None
    row[-1] = cues.sound_reasoning(text)
    return row


def encode(texts: list[str], encoder: str) -> np.ndarray:
    """One encoder's embeddings: `static` (the distilled model) or `minilm` (the transformer)."""
    if encoder == "static":
        return embed(texts)
    if encoder == "minilm":
        from unstuck.thinking.detector.encoder import minilm

        return minilm().encode(texts)
    raise ValueError(f"unknown encoder {encoder!r}")


def featurise(texts: list[str], encoders: tuple[str, ...] = ("static",)) -> np.ndarray:
    """Each encoder's embedding in order, then the cue features. Texts must already be
    normalised (cues.normalise)."""
    cue_rows = np.stack([cue_features(t) for t in texts]) if texts else np.zeros((0, CUE_FEATURES))
    return np.hstack([*(encode(texts, e) for e in encoders), cue_rows]).astype(np.float32)
