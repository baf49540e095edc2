#!/usr/bin/env python3
"""Fusion functions compared offline on the signals `switchboard eval retrieval
--signals FILE` wrote: each query's bm25 and dense chunk lists with scores.

Usage: fusion.py SIGNALS.jsonl [SIGNALS2.jsonl ...]

For each file and split it prints nDCG@10 and recall@5 of bm25, dense, and the
fusion variants below, ranked the way the eval ranks (documents in the order of
their best chunk, excluded ones skipped). What it explores:

- rrf(k, w):   sum of w_s / (k + rank_s), the shipped fusion (k = 60, w = 1).
- cc(a):       convex combination of per-query min-max normalised scores,
               a * bm25 + (1 - a) * dense (Bruch et al., "An Analysis of
               Fusion Functions for Hybrid Retrieval", 2023).
- tmm(a):      as cc, but dense cosine normalised by its theoretical range
               and bm25 by the query's best score (their TM2C2).
"""

import json
import math
import sys
from collections import defaultdict


def load(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def ndcg10(ranked, relevant):
    dcg = sum(relevant.get(d, 0.0) / math.log2(i + 2) for i, d in enumerate(ranked[:10]))
    ideal = sorted(relevant.values(), reverse=True)[:10]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg > 0 else 0.0


def recall(ranked, relevant, k):
    rel = {d for d, g in relevant.items() if g > 0}
    return len(rel.intersection(ranked[:k])) / max(len(rel), 1)


def rank_docs(chunks, exclude):
    """chunks: [(doc, chunk)] best first -> documents, each once."""
    out = []
    for doc, _ in chunks:
        if doc in exclude or doc in out:
            continue
        out.append(doc)
        if len(out) == 10:
            break
    return out


def single(q, signal):
    return rank_docs([(d, c) for d, c, _ in q[signal]], set(q["exclude"]))


def fused(q, score_of):
    """score_of(signal, rank, score, scores) -> contribution; summed per chunk."""
    total = defaultdict(float)
    doc_of = {}
    for signal in ("bm25", "dense"):
        scores = [s for _, _, s in q[signal]]
        for rank, (doc, chunk, score) in enumerate(q[signal], start=1):
            total[chunk] += score_of(signal, rank, score, scores)
            doc_of[chunk] = doc
    order = sorted(total, key=lambda c: (-total[c], c))
    return rank_docs([(doc_of[c], c) for c in order], set(q["exclude"]))


def rrf(k=60.0, wb=1.0, wd=1.0):
    w = {"bm25": wb, "dense": wd}
    return lambda s, rank, score, scores: w[s] / (k + rank)


def minmax(a):
    def f(s, rank, score, scores):
        lo, hi = min(scores), max(scores)
        norm = (score - lo) / (hi - lo) if hi > lo else 1.0
        return (a if s == "bm25" else 1 - a) * norm
    return f


def tmm(a):
    def f(s, rank, score, scores):
        if s == "bm25":
            hi = max(scores)
            norm = score / hi if hi > 0 else 0.0
            return a * norm
        return (1 - a) * (score + 1) / 2
    return f


def variants():
    out = [("bm25", None), ("dense", None)]
    for k in (60, 20, 10, 5, 2):
        out.append((f"rrf k={k}", rrf(k)))
    for wb in (1.5, 2.0):
        out.append((f"rrf k=60 wb={wb}", rrf(60, wb)))
    for a in (0.3, 0.4, 0.5, 0.6, 0.7):
        out.append((f"cc a={a}", minmax(a)))
    for a in (0.3, 0.4, 0.5, 0.6, 0.7):
        out.append((f"tmm a={a}", tmm(a)))
    return out


def main(paths):
    for path in paths:
        queries = load(path)
        splits = sorted({q["split"] for q in queries})
        for split in splits:
            qs = [q for q in queries if q["split"] == split]
            print(f"\n{path} split={split} queries={len(qs)}")
            print(f"{'variant':<20} {'nDCG@10':>8} {'R@5':>7}")
            for name, fn in variants():
                ranked = [single(q, name) if fn is None else fused(q, fn) for q in qs]
                n = sum(ndcg10(r, q["relevant"]) for r, q in zip(ranked, qs)) / len(qs)
                r5 = sum(recall(r, q["relevant"], 5) for r, q in zip(ranked, qs)) / len(qs)
                print(f"{name:<20} {n:>8.4f} {r5:>7.4f}")


if __name__ == "__main__":
    main(sys.argv[1:])
