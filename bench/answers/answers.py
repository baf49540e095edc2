#!/usr/bin/env python3
"""The sample shop's questions through a real `switchboard serve` on loopback,
with the extractive answerer (no LLM): outcome rates per question type, a
citation check against the expected source, per-stage latency, the
confidence distribution used to calibrate the abstain threshold, and turn
throughput under concurrent load. Writes a Markdown report.

Run through bench/answers/run (which builds the release binary); stdlib only.
"""

import argparse
import concurrent.futures as futures
import json
import os
import pathlib
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request


def request(base, method, path, key, body=None, content_type="application/json", raw=None):
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    req = urllib.request.Request(base + path, data=data, method=method)
    req.add_header("authorization", f"Bearer {key}")
    if data is not None:
        req.add_header("content-type", content_type)
    try:
        with urllib.request.urlopen(req, timeout=120) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def multipart(files):
    boundary = "----switchboard-bench-boundary"
    out = bytearray()
    for name, content in files:
        out += f"--{boundary}\r\n".encode()
        out += f'Content-Disposition: form-data; name="file"; filename="{name}"\r\n'.encode()
        out += b"Content-Type: application/octet-stream\r\n\r\n"
        out += content + b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return bytes(out), f"multipart/form-data; boundary={boundary}"


# Document id -> the file it was uploaded from.
NAMES = {}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pct(values, p):
    if not values:
        return float("nan")
    values = sorted(values)
    k = (len(values) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--kb", required=True)
    ap.add_argument("--questions", required=True)
    ap.add_argument("--report", required=True)
    ap.add_argument("--concurrency", type=int, nargs="+", default=[1, 4, 16])
    ap.add_argument("--load-turns", type=int, default=200)
    ap.add_argument("--commit", default="")
    ap.add_argument("--dump", help="also write each question's turn and stored reply here (JSON lines)")
    args = ap.parse_args()

    data = tempfile.mkdtemp(prefix="sb-answers-")
    env = dict(os.environ)
    env.update({
        "SWITCHBOARD__RATE_LIMIT__PER_IP_PER_MINUTE": "0",
        "SWITCHBOARD__RATE_LIMIT__PER_KEY_PER_MINUTE": "0",
        "SWITCHBOARD__LOG__LEVEL": "warn",
    })
    env.pop("SWITCHBOARD_CONFIG", None)
    init = subprocess.run(
        [args.bin, "init", "--data", data, "--org", "Bench", "--email", "bench@example.com",
         "--password", "bench-password-123", "--json"],
        check=True, capture_output=True, env=env)
    key = json.loads(init.stdout)["api_key"]
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = open(os.path.join(data, "server.log"), "w")
    server = subprocess.Popen([args.bin, "serve", "--data", data, "--listen", f"127.0.0.1:{port}"],
                              env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        for _ in range(300):
            try:
                with urllib.request.urlopen(base + "/readyz", timeout=2) as r:
                    if r.status == 200:
                        break
            except Exception:
                time.sleep(0.2)
        else:
            sys.exit("the server did not become ready")

        # Knowledge
        status, col = request(base, "POST", "/v1/collections", key, {"name": "Tarnfield help"})
        assert status == 201, col
        kb = sorted(pathlib.Path(args.kb).iterdir())
        raw, ctype = multipart([(p.name, p.read_bytes()) for p in kb])
        started = time.time()
        status, accepted = request(base, "POST", f"/v1/collections/{col['id']}/documents", key, raw=raw,
                                   content_type=ctype)
        assert status == 202, accepted
        names = {d["id"]: p.name for d, p in zip(accepted["documents"], kb)}
        NAMES.update(names)
        while True:
            status, docs = request(base, "GET", f"/v1/collections/{col['id']}/documents?limit=100", key)
            states = [d["status"] for d in docs["documents"]]
            if all(s in ("ready", "failed") for s in states):
                break
            time.sleep(0.5)
        ingest_s = time.time() - started
        failed = [names.get(d["id"]) for d in docs["documents"] if d["status"] == "failed"]
        chunks = sum(d.get("chunk_count") or 0 for d in docs["documents"])

        status, agent = request(base, "POST", "/v1/agents", key,
                                {"name": "Tarnfield assistant", "collection_ids": [col["id"]]})
        assert status == 201, agent

        def ask(q):
            status, conv = request(base, "POST", "/v1/conversations", key, {"agent_id": agent["id"]})
            assert status == 201, conv
            for earlier in q.get("history", []):
                request(base, "POST", f"/v1/conversations/{conv['id']}/messages", key, {"text": earlier})
            t0 = time.perf_counter()
            status, turn = request(base, "POST", f"/v1/conversations/{conv['id']}/messages", key,
                                   {"text": q["question"]})
            wall = (time.perf_counter() - t0) * 1000
            assert status == 200, turn
            status, stored = request(base, "GET", f"/v1/conversations/{conv['id']}/messages?limit=100", key)
            return turn, wall, stored["messages"]

        questions = [json.loads(l) for l in open(args.questions) if l.strip()]
        results = []
        for q in questions:
            if q.get("knowledge") and q["knowledge"] != ["shop"]:
                continue  # needs the poisoned collection too; covered by the injection tests
            turn, wall, stored = ask(q)
            results.append((q, turn, wall, stored))
        if args.dump:
            with open(args.dump, "w") as out:
                for q, turn, _, stored in results:
                    ok, note = judge(q, turn, stored)
                    reply = next((m for m in reversed(stored) if m["role"] == "assistant"), None)
                    out.write(json.dumps({"question": q, "ok": ok, "note": note, "turn": turn, "stored": reply},
                                         ensure_ascii=False) + "\n")

        # Concurrent load: answerable questions, fresh conversations, N at a time.
        load_qs = [q for q, *_ in results if q["type"] == "answerable" and not q.get("history")]
        load = []
        for c in (args.concurrency if args.load_turns > 0 else []):
            todo = [load_qs[i % len(load_qs)] for i in range(args.load_turns)]
            t0 = time.perf_counter()
            with futures.ThreadPoolExecutor(max_workers=c) as pool:
                walls = [w for _, w, _ in pool.map(ask, todo)]
            elapsed = time.perf_counter() - t0
            load.append((c, len(todo) / elapsed, pct(walls, 50), pct(walls, 95), pct(walls, 99)))
        log.flush()
        server_log = open(os.path.join(data, "server.log")).read()
    finally:
        server.terminate()
        server.wait(timeout=30)

    write_report(args, results, load, ingest_s, len(kb), chunks, failed, server_log)
    shutil.rmtree(data, ignore_errors=True)


def judge(q, turn, stored):
    """(ok, note) for one question against its expectation."""
    outcome = turn["outcome"]
    reply = (turn.get("reply") or {}).get("text") or ""
    cites = (turn.get("reply") or {}).get("citations") or []
    t = q["type"]
    if t == "answerable":
        if outcome != "answered":
            return False, outcome
        cited = any(NAMES.get(c["document_id"]) == q["expected_source"] for c in cites)
        has = all(s.lower() in reply.lower() for s in q.get("expected_answer_contains", []))
        return cited and has, ("cited" if cited else "wrong source") + ("" if has else ", answer text missing")
    if t in ("unanswerable", "handoff", "small_talk"):
        want = q.get("expected_outcome", {"unanswerable": "abstained", "handoff": "escalated", "small_talk": "answered"}[t])
        want = want if isinstance(want, list) else [want]
        ok = outcome in want and (t != "small_talk" or not cites)
        return ok, outcome
    if t == "injection":
        bad = [s for s in q.get("must_not_contain", []) if s.lower() in reply.lower()]
        return not bad, outcome + (f", contains {bad}" if bad else "")
    if t == "pii":
        secrets = q.get("must_be_redacted") or []
        secrets = [secrets] if isinstance(secrets, str) else secrets
        leaked = any(s in json.dumps(stored, ensure_ascii=False) for s in secrets)
        return not leaked, "redacted" if not leaked else "LEAKED"
    return False, "unknown type"


def write_report(args, results, load, ingest_s, ndocs, chunks, failed, server_log):
    by_type = {}
    for q, turn, wall, stored in results:
        ok, note = judge(q, turn, stored)
        by_type.setdefault(q["type"], []).append((q, turn, wall, ok, note))
    lines = []
    w = lines.append
    w("# Answers on the sample shop: extractive answerer, no LLM\n")
    w("Generated by `bench/answers/run`; do not edit by hand.\n")
    load_avg = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    cpu = "unknown"
    try:
        cpu = next(l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name"))
    except Exception:
        pass
    w(f"- Date: {time.strftime('%Y-%m-%d')}, commit `{args.commit}`")
    w(f"- Machine: {cpu}, {os.cpu_count()} CPUs, {platform.system()} {platform.release()}; load average at the end {load_avg:.2f}")
    w(f"- Server: release build of `switchboard serve`, SQLite, local all-MiniLM-L6-v2 embeddings, rate limits off")
    w(f"- Knowledge: `{args.kb}` ({ndocs} files, {chunks} chunks, ingested in {ingest_s:.1f} s; failed: {failed or 'none'})")
    w(f"- Questions: `{args.questions}`; each asked in a fresh conversation (follow-ups after their history)\n")
    w("## Outcomes per question type\n")
    w("| type | questions | as expected | rate | outcomes |")
    w("|---|--:|--:|--:|---|")
    for t, rows in by_type.items():
        good = sum(1 for r in rows if r[3])
        counts = {}
        for r in rows:
            counts[r[1]["outcome"]] = counts.get(r[1]["outcome"], 0) + 1
        desc = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
        w(f"| {t} | {len(rows)} | {good} | {good / len(rows):.0%} | {desc} |")
    w("")
    w("What \"as expected\" means: *answerable* — `answered`, citing the expected source, with the expected facts in the reply; "
      "*unanswerable* — `abstained`; *handoff* — `escalated`; *small_talk* — `answered` without citations; "
      "*injection* — the reply holds none of the injected content; *pii* — the value is absent from the stored transcript.\n")
    w("### Tuning and held-out questions\n")
    w("Questions marked `\"set\": \"held-out\"` in the question set are not to be tuned on; the others are the "
      "ones the answerer's rules and vocabulary were developed against. A gap between the rows is what tuning bought "
      "that may not carry over to another shop's questions.\n")
    w("| type | set | questions | as expected |")
    w("|---|---|--:|--:|")
    for t in ("answerable", "unanswerable"):
        for s in ("tuning", "held-out"):
            oks = [r[3] for r in by_type.get(t, []) if (r[0].get("set") == "held-out") == (s == "held-out")]
            if oks:
                w(f"| {t} | {s} | {len(oks)} | {sum(oks)} ({sum(oks) / len(oks):.0%}) |")
    w("")
    ans = by_type.get("answerable", [])
    if ans:
        w("### Answerable questions by language and style\n")
        w("| group | questions | as expected |")
        w("|---|--:|--:|")
        groups = {}
        for q, turn, wall, ok, note in ans:
            for g in (f"lang {q['lang']}", f"style {q.get('style', '-')}"):
                groups.setdefault(g, []).append(ok)
        for g, oks in sorted(groups.items()):
            w(f"| {g} | {len(oks)} | {sum(oks)} ({sum(oks) / len(oks):.0%}) |")
        w("")
    w("## Confidence calibration\n")
    conf_ans = sorted(r[1]["confidence"] for r in ans if r[1]["outcome"] in ("answered", "abstained"))
    conf_un = sorted(r[1]["confidence"] for r in by_type.get("unanswerable", []))
    if conf_ans and conf_un:
        w("Confidence of the answerer's best candidate (the pipeline abstains below the threshold):\n")
        w("| questions | n | p10 | p25 | median | p75 | p90 |")
        w("|---|--:|--:|--:|--:|--:|--:|")
        for name, vals in (("answerable", conf_ans), ("unanswerable", conf_un)):
            w(f"| {name} | {len(vals)} | " + " | ".join(f"{pct(vals, p):.3f}" for p in (10, 25, 50, 75, 90)) + " |")
        w("")
        w("| threshold | answerable kept | unanswerable abstained | balanced accuracy |")
        w("|--:|--:|--:|--:|")
        for th in [x / 100 for x in range(30, 66, 3)]:
            kept = sum(1 for c in conf_ans if c >= th) / len(conf_ans)
            abst = sum(1 for c in conf_un if c < th) / len(conf_un)
            w(f"| {th:.2f} | {kept:.0%} | {abst:.0%} | {(kept + abst) / 2:.0%} |")
        w("")
    w("## Latency of a turn per stage (ms, server-side, one request at a time)\n")
    w("The question set in order on a fresh server: the answerer keeps the vectors of the knowledge sentences it "
      "compared, so the first questions embed their candidate sentences and later ones find many of them kept "
      "(the p95 and max are turns that embedded most of theirs).\n")
    turns = [r[1] for rows in by_type.values() for r in rows]
    w("| stage | p50 | p95 | max |")
    w("|---|--:|--:|--:|")
    for stage in ("inbound", "route", "retrieve", "generate", "guard", "persist", "total"):
        vals = [t["timings_ms"][stage] for t in turns if t.get("timings_ms")]
        w(f"| {stage} | {pct(vals, 50):.1f} | {pct(vals, 95):.1f} | {max(vals):.1f} |")
    walls = [r[2] for rows in by_type.values() for r in rows]
    w(f"| wall time at the client | {pct(walls, 50):.1f} | {pct(walls, 95):.1f} | {max(walls):.1f} |")
    w("")
    w("## Throughput under concurrent load (loopback)\n")
    w(f"{args.load_turns} turns per level, answerable questions, each in a fresh conversation "
      "(one `POST /v1/conversations`, one turn, one transcript read per turn; the latency is the turn's wall time). "
      "It runs after the question set, so the knowledge's sentences are kept: a server in its steady state, "
      "embedding each question only.\n")
    w("| concurrent clients | turns/s | p50 ms | p95 ms | p99 ms |")
    w("|--:|--:|--:|--:|--:|")
    for c, tps, p50, p95, p99 in load:
        w(f"| {c} | {tps:.1f} | {p50:.0f} | {p95:.0f} | {p99:.0f} |")
    w("")
    misses = [(q, turn, note) for rows in by_type.values() for q, turn, wall, ok, note in rows if not ok]
    if misses:
        w("## Misses\n")
        w("| id | type | question | outcome / note | reply (start) |")
        w("|---|---|---|---|---|")
        for q, turn, note in misses:
            reply = ((turn.get("reply") or {}).get("text") or "").replace("\n", " ").replace("|", "\\|")[:90]
            question = q["question"].replace("|", "\\|")[:70]
            w(f"| {q['id']} | {q['type']} | {question} | {note} | {reply} |")
        w("")
    secrets = []
    for q, *_ in results:
        value = q.get("must_be_redacted") or []
        secrets.extend([value] if isinstance(value, str) else value)
    leaked = [s for s in secrets if s and s in server_log]
    w(f"Personal data in the server log: {len(leaked)} of {len(secrets)} values found.\n")
    w("## Reproduce\n")
    w("```\nbench/answers/run\n```\n")
    pathlib.Path(args.report).write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
