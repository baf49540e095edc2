# Sourced by the scripts in bench/embedding: creates (or reuses) the Python
# venv with sentence-transformers used as the reference and the baseline.
#
# The venv lives outside the repository (default: a `.cache-bench/st-venv`
# folder next to the checkout; override with ST_VENV) because PyPI's torch is
# the CUDA build and the venv weighs ~6 GB.
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
ST_VENV="${ST_VENV:-$(dirname "$REPO")/.cache-bench/st-venv}"
# Versions measured in docs/bench/embedding.md; bump together with a new run.
ST_REQUIREMENTS=(sentence-transformers==6.2.0 torch==2.15.0)

ensure_venv() {
    if [[ -x "$ST_VENV/bin/python" ]] && "$ST_VENV/bin/python" -c "import sentence_transformers" 2>/dev/null; then
        return 0
    fi
    echo "bench: creating the Python venv at $ST_VENV (torch is large; this takes a while) ..." >&2
    mkdir -p "$(dirname "$ST_VENV")"
    python3 -m venv "$ST_VENV"
    "$ST_VENV/bin/pip" install --quiet --upgrade pip >&2
    "$ST_VENV/bin/pip" install --quiet "${ST_REQUIREMENTS[@]}" >&2
}
