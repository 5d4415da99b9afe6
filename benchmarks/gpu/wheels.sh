#!/usr/bin/env bash
# Download the wheels (Python 3.12, x86_64 Linux) that a lent GPU machine lacks beside its own torch, lightning
# and transformers, into benchmarks/gpu/wheels/ (git-ignored; under 64 MiB, to travel with the working tree).
# The list is issue 21's; versions as in calibprune's own environment where it has them, auto-round as
# llmcompressor 0.14.0.1 requires (<= 0.15.1). The machine must already have their other dependencies (pyarrow,
# pandas, xxhash, accelerate, nvidia-ml-py...), as the H200 of issue 21 had.
# Usage: bash benchmarks/gpu/wheels.sh [FOLDER]
set -euo pipefail
folder="${1:-$(dirname "$0")/wheels}"
mkdir -p "$folder"
python -m pip download --only-binary=:all: --python-version 3.12 --platform manylinux2014_x86_64 \
    --platform manylinux_2_17_x86_64 --platform manylinux_2_28_x86_64 --no-deps --dest "$folder" \
    jsonargparse==4.53.0 docstring-parser==0.18.0 typeshed-client==2.15.0 \
    datasets==5.2.0 dill==0.4.1 multiprocess==0.70.19 gguf==0.19.0 \
    llmcompressor==0.14.0.1 compressed-tensors==0.19.0 loguru \
    pydantic==2.14.4 pydantic-core==2.50.5 annotated-types==0.8.0 typing-inspection==0.4.5 \
    auto-round==0.15.1 typing-extensions==4.16.0
du -sh "$folder"
