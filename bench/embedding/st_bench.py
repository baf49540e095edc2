"""sentence-transformers (PyTorch, CPU) side of bench/embedding/run.

Usage: python st_bench.py MODEL_DIR SENTENCES_FILE THREADS [LATENCY_QUERIES]
Mirrors crates/switchboard-engine/examples/embed_bench.rs: two full passes in
batches of 32 (the faster one counts), then single-sentence latency, and one
JSON object on stdout.
"""

import json
import os
import resource
import sys
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def main() -> None:
    model_dir, sentences_file, threads = sys.argv[1], sys.argv[2], int(sys.argv[3])
    latency_queries = int(sys.argv[4]) if len(sys.argv) > 4 else 200

    # Other processes on the machine skew every figure: record how busy it was.
    with open("/proc/loadavg") as f:
        loadavg_before = f.read().split()[0]
    started = time.perf_counter()
    import torch
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(threads)
    model = SentenceTransformer(model_dir, device="cpu")
    model.encode([open(sentences_file).readline().strip()])
    load_and_first = time.perf_counter() - started

    with open(sentences_file, encoding="utf-8") as f:
        sentences = [line.rstrip("\n") for line in f if line.strip()]

    def encode(texts):
        return model.encode(texts, batch_size=32, convert_to_numpy=True, show_progress_bar=False)

    encode(sentences[:256])  # warm-up, as in the Rust bench
    passes, cpu_passes = [], []
    for _ in range(2):
        t, cpu = time.perf_counter(), time.process_time()
        vectors = encode(sentences)
        passes.append(time.perf_counter() - t)
        cpu_passes.append(time.process_time() - cpu)
        assert len(vectors) == len(sentences)
    best = min(passes)
    if os.environ.get("BENCH_VECTORS_OUT"):
        vectors.astype("<f4").tofile(os.environ["BENCH_VECTORS_OUT"])

    latencies = []
    for s in sentences[:latency_queries]:
        t = time.perf_counter()
        encode([s])
        latencies.append(time.perf_counter() - t)
    latencies.sort()

    def pct(p: float) -> float:
        return latencies[round((len(latencies) - 1) * p)] * 1e3

    import sentence_transformers

    print(json.dumps({
        "engine": "sentence-transformers",
        "variant": "default",
        "threads": threads,
        "sentences": len(sentences),
        "batch_size": 32,
        "sentences_per_s": len(sentences) / best,
        "passes_s": passes,
        "passes_cpu_s": cpu_passes,
        "latency_ms_p50": pct(0.5),
        "latency_ms_p90": pct(0.9),
        "load_and_first_ms": load_and_first * 1e3,
        # ru_maxrss is in KiB on Linux.
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "loadavg_before": loadavg_before,
        "versions": {
            "sentence_transformers": sentence_transformers.__version__,
            "torch": torch.__version__,
        },
    }))


if __name__ == "__main__":
    main()
