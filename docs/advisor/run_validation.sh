#!/bin/sh
# The advisor's validation (docs/advisor/README.md), from the repository root, each heavy step under the shared
# lock of the 2-core machine it was made on. 1) ground truth: the full study (one shard per seed, resumable);
# 2) one advisor run per seed on the same candidates (the same calibration tokens as the study's cells of that
# seed), with target windows 48-63, disjoint from the 48 windows the study evaluates; 3) the comparison.
set -e
CANDIDATES='[c4, pile, redpajama, gsm8k, gsm8k@zero-shot, esnli, commonsense_qa, boolq@zero-shot, ellipses, random, self, c4+gsm8k]'
for i in 0 1 2; do
  flock /tmp/calibprune-heavy.lock calibprune study --config docs/advisor/ground_truth.yaml --shard $i/3
done
calibprune study --config docs/advisor/ground_truth.yaml --run false
for seed in 0 1 2; do
  flock /tmp/calibprune-heavy.lock calibprune advise --model embedded --candidates "$CANDIDATES" \
    --targets '[wikitext, c4]' --prune_method wanda --sparsity_ratio 0.5 --nsamples 16 --seqlen 128 --seed $seed \
    --data_dir ../shared/data --blocks 2 --target_windows 16 --target_offset 48 --all_proxies true \
    --output_dir docs/advisor/advice/seed$seed --overwrite true --trainer.enable_progress_bar false
done
python -m calibprune.advisor.validate --study docs/advisor/ground_truth \
  --advice docs/advisor/advice/seed0/advice.json docs/advisor/advice/seed1/advice.json \
           docs/advisor/advice/seed2/advice.json \
  --targets wikitext c4 --output_dir docs/advisor --proxy coverage
