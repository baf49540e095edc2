#!/usr/bin/env python3
"""Converts the public retrieval sets in ../shared/eval into the dataset format of
`switchboard eval retrieval` (JSON Lines; see crates/switchboard/src/eval.rs):

  {"type": "doc", "id", "title", "text"}
  {"type": "query", "id", "text", "relevant": {doc id: grade}, "split", "exclude": [...]}

SciFact (BEIR): the 5,183 abstracts with their titles; queries with qrels in
`train.tsv` form the `dev` split (tuning), those in `test.tsv` the `test` split
(the BEIR test set: 300 queries, the one the published figures use). A query
id that is also a corpus id is excluded from its own ranking (BEIR convention).

SQuAD 2.0 dev (CS224N half): each of the 646 paragraphs is a document titled
with its article's title; each answerable question is a query whose relevant
document is its paragraph. Unanswerable questions are left out (no gold
passage). Split by article: the questions of even-numbered articles are `dev`,
of odd-numbered ones `test`.

Usage: convert.py SHARED_EVAL_DIR OUT_DIR  ->  OUT_DIR/{scifact,squad}.jsonl
"""
import csv
import json
import os
import sys


def write(path, rows):
    with open(path, "w", encoding="utf-8") as out:
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")


def scifact(src):
    rows = []
    corpus = set()
    with open(os.path.join(src, "corpus.jsonl"), encoding="utf-8") as f:
        for line in f:
            d = json.loads(line)
            corpus.add(d["_id"])
            rows.append({"type": "doc", "id": d["_id"], "title": d["title"], "text": d["text"]})
    texts = {}
    with open(os.path.join(src, "queries.jsonl"), encoding="utf-8") as f:
        for line in f:
            q = json.loads(line)
            texts[q["_id"]] = q["text"]
    for split, name in (("dev", "train.tsv"), ("test", "test.tsv")):
        relevant = {}
        with open(os.path.join(src, "qrels", name), encoding="utf-8") as f:
            for row in csv.DictReader(f, delimiter="\t"):
                grade = int(row["score"])
                if grade > 0:
                    relevant.setdefault(row["query-id"], {})[row["corpus-id"]] = grade
        for qid in sorted(relevant, key=lambda x: int(x)):
            rows.append({
                "type": "query", "id": qid, "text": texts[qid], "relevant": relevant[qid], "split": split,
                "exclude": [qid] if qid in corpus else [],
            })
    return rows


def squad(path):
    with open(path, encoding="utf-8") as f:
        data = json.load(f)["data"]
    rows, queries = [], []
    for a, article in enumerate(data):
        title = article["title"].replace("_", " ")
        for p, para in enumerate(article["paragraphs"]):
            pid = f"{a}.{p}"
            rows.append({"type": "doc", "id": pid, "title": title, "text": para["context"]})
            for qa in para["qas"]:
                if qa.get("is_impossible") or not qa["answers"]:
                    continue
                queries.append({
                    "type": "query", "id": qa["id"], "text": qa["question"], "relevant": {pid: 1},
                    "split": "dev" if a % 2 == 0 else "test",
                })
    return rows + queries


def main():
    src, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    write(os.path.join(out, "scifact.jsonl"), scifact(os.path.join(src, "scifact-beir")))
    write(os.path.join(out, "squad.jsonl"), squad(os.path.join(src, "squad2-dev-half", "dev-v2.0.cs224n.json")))


if __name__ == "__main__":
    main()
