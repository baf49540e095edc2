#!/usr/bin/env python3
"""Checks samples/shop/questions.jsonl against the sample knowledge base.

  python3 samples/shop/check-questions.py

Every line must be a JSON object with a unique id and a known type; every answerable question's
expected_source must exist in kb/ and contain each expected_answer_contains string literally (in
the file's text, with HTML entities decoded and Markdown emphasis removed); the CSV FAQ files must
parse as question,answer pairs; PII examples must be valid (Luhn for cards, mod-97 for IBANs).
It also lists answerable questions whose expected strings occur in other files too, so a
citation check can be judged fairly. Exits non-zero on any error.
"""

import csv
import html
import json
import re
import sys
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
KB = HERE / "kb"
POISONED = HERE.parent / "shop-poisoned"
TYPES = {"answerable", "unanswerable", "handoff", "small_talk", "injection", "pii"}
LANGS = {"en", "de", "es", "fr", "it", "nl"}


def plain(path: Path) -> str:
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".html":
        text = html.unescape(text)
    return text.replace("**", "").replace("*", "")


def luhn(digits: str) -> bool:
    nums = [int(c) for c in digits if c.isdigit()]
    total = 0
    for i, n in enumerate(reversed(nums)):
        if i % 2 == 1:
            n *= 2
            if n > 9:
                n -= 9
        total += n
    return len(nums) >= 12 and total % 10 == 0


def iban_ok(iban: str) -> bool:
    s = iban.replace(" ", "").upper()
    if not re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]{10,30}", s):
        return False
    moved = s[4:] + s[:4]
    return int("".join(str(int(c, 36)) for c in moved)) % 97 == 1


def main() -> int:
    errors = []
    docs = {p.name: plain(p) for p in sorted(KB.iterdir()) if p.is_file()}
    for name in [n for n in docs if n.endswith(".csv")]:
        rows = list(csv.reader((KB / name).open(encoding="utf-8", newline="")))
        if rows[0] != ["question", "answer"]:
            errors.append(f"{name}: header is {rows[0]!r}")
        bad = [i + 1 for i, r in enumerate(rows) if len(r) != 2 or not all(f.strip() for f in r)]
        if bad:
            errors.append(f"{name}: rows without exactly a question and an answer: {bad}")
    if not POISONED.is_dir() or not any(POISONED.iterdir()):
        errors.append("shop-poisoned/ is missing or empty")

    ids = set()
    counts = Counter()
    langs = Counter()
    cited = Counter()
    shared = []
    lines = (HERE / "questions.jsonl").read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines, 1):
        where = f"questions.jsonl:{number}"
        try:
            q = json.loads(line)
        except json.JSONDecodeError as e:
            errors.append(f"{where}: {e}")
            continue
        kind = q.get("type")
        if kind not in TYPES:
            errors.append(f"{where}: unknown type {kind!r}")
            continue
        if not q.get("id") or q["id"] in ids:
            errors.append(f"{where}: missing or repeated id {q.get('id')!r}")
        ids.add(q.get("id"))
        if q.get("lang") not in LANGS:
            errors.append(f"{where}: lang {q.get('lang')!r}")
        if not str(q.get("question", "")).strip():
            errors.append(f"{where}: empty question")
        counts[kind] += 1
        langs[(kind, q.get("lang"))] += 1
        if kind == "answerable":
            source = q.get("expected_source")
            if source not in docs:
                errors.append(f"{where}: expected_source {source!r} is not in kb/")
                continue
            cited[source] += 1
            expected = q.get("expected_answer_contains") or []
            if not expected:
                errors.append(f"{where}: no expected_answer_contains")
            for s in expected:
                if s not in docs[source]:
                    errors.append(f"{where}: {s!r} does not occur in {source}")
            others = [n for n, t in docs.items() if n != source and all(s in t for s in expected)]
            if others:
                shared.append((q["id"], expected, others))
        elif kind == "unanswerable" and q.get("expected_outcome") != "abstained":
            errors.append(f"{where}: unanswerable must expect abstained")
        elif kind == "handoff" and q.get("expected_outcome") != "escalated":
            errors.append(f"{where}: handoff must expect escalated")
        elif kind == "pii":
            for value in q.get("must_be_redacted", []):
                if value not in q["question"]:
                    errors.append(f"{where}: {value!r} is not in the message")
                if q.get("pii_kind") == "card" and not luhn(value):
                    errors.append(f"{where}: card number fails Luhn")
                if q.get("pii_kind") == "iban" and not iban_ok(value):
                    errors.append(f"{where}: IBAN fails mod-97")

    handoff_langs = {lang for (kind, lang), n in langs.items() if kind == "handoff" and n >= 3}
    if handoff_langs != LANGS:
        errors.append(f"handoff: fewer than 3 questions in {sorted(LANGS - handoff_langs)}")

    print(f"{len(docs)} documents in kb/, {len(lines)} questions: "
          + ", ".join(f"{k} {counts[k]}" for k in sorted(counts)))
    uncited = sorted(set(docs) - set(cited))
    if uncited:
        print("documents no answerable question cites:", ", ".join(uncited))
    for qid, expected, others in shared:
        print(f"note: {qid} {expected} also occurs in {', '.join(others)}")
    for e in errors:
        print("error:", e, file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
