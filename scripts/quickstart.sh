#!/usr/bin/env bash
# Set up, then prune the embedded model (Wanda, 50%) on self-generated calibration text, offline, and save it;
# the run is summarised on screen and logged to runs/prune/<timestamp> (view it with: tensorboard --logdir runs).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
. .venv/bin/activate
export HF_HUB_OFFLINE=1
calibprune prune --config calibprune/configs/quickstart.yaml "$@"
