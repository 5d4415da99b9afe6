"""Examples per second of calibprune's batched evaluation against the seed's batch-1 free generation.

Both score the same few-shot prompts of the same test items. Ours: ``evaluate_model`` end to end (data,
prompts, Lightning test loop): choices scored by log-likelihood with one context pass per item, arithmetic
answers generated in batches with stop sequences (at most 32 new tokens, our default). The seed's method
(abx393/llm-pruning-calibration-data ``lib/eval.py``): for every item, one prompt at a time, ``model.generate``
greedy with no stop sequence, ``max_new_tokens=256`` for arithmetic and 20 for classification, as that code
does; its prompts are ours, built before the clock starts.

Per task kind (multiple choice, arithmetic generation, and perplexity windows with ``--perplexity_windows``),
``--shared_exemplars`` gives every item of a task the same exemplars (one prompt prefix, run once per
batch) and ``--no_prefix_reuse`` turns that reuse off, to time it on identical prompts and results.
``--skip_seed`` leaves the seed's method out; ``--repeats`` times ours several times (min and median).

Run from the repository root::

    python benchmarks/eval_throughput.py --output eval_throughput.json
    python benchmarks/eval_throughput.py --skip_seed --shared_exemplars --repeats 3 --perplexity_windows 8
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import torch

from calibprune.evaluation import forward
from calibprune.evaluation.api import evaluate_model
from calibprune.evaluation.datamodule import EvaluationDataModule
from calibprune.modeling.loading import load_model, load_tokenizer

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="embedded", help="model to evaluate (default: the embedded SmolLM2-135M)")
    parser.add_argument("--data_dir", default=str(DEFAULT_DATA), help="folder with <task>/{train,test}.jsonl")
    parser.add_argument("--choice_task", default="boolq", help="multiple-choice task")
    parser.add_argument("--choice_items", type=int, default=32, help="test items of the multiple-choice task")
    parser.add_argument("--generation_task", default="gsm8k", help="arithmetic task")
    parser.add_argument("--generation_items", type=int, default=16, help="test items of the arithmetic task")
    parser.add_argument("--num_fewshot", type=int, default=2, help="exemplars per prompt, both methods")
    parser.add_argument(
        "--seed_choice_tokens",
        type=int,
        default=20,
        help="new tokens the seed's method generates per classification item (seed code: 20)",
    )
    parser.add_argument(
        "--seed_generation_tokens",
        type=int,
        default=256,
        help="new tokens the seed's method generates per arithmetic item (seed code: 256)",
    )
    parser.add_argument("--batch_size", type=int, default=16, help="items per forward pass of our evaluation")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--perplexity_task", default="wikitext", help="perplexity corpus (with --perplexity_windows)")
    parser.add_argument("--perplexity_windows", type=int, default=0, help="windows of the perplexity corpus (0: none)")
    parser.add_argument("--seqlen", type=int, default=512, help="tokens per perplexity window")
    parser.add_argument("--shared_exemplars", action="store_true", help="the same exemplars for every item")
    parser.add_argument("--no_prefix_reuse", action="store_true", help="run the shared prompt prefix for every row")
    parser.add_argument("--skip_seed", action="store_true", help="do not time the seed's method")
    parser.add_argument("--repeats", type=int, default=1, help="timed runs of ours per task (min and median kept)")
    parser.add_argument("--output", default=None, help="write the measurements to this JSON file")
    return parser.parse_args(argv)


def protocol(args: argparse.Namespace) -> dict:
    """Options of the exemplar protocol, passed only when set (so that older versions can be timed too)."""
    return {"shared_exemplars": True} if args.shared_exemplars else {}


def prompts_of(task: str, items: int, tokenizer, args: argparse.Namespace) -> list[list[int]]:
    """The few-shot prompts our evaluation builds for ``task`` (choice tasks: the context before the choices)."""
    datamodule = EvaluationDataModule(
        [task], limit=items, num_fewshot=args.num_fewshot, data_dir=args.data_dir, **protocol(args)
    )
    datamodule.connect(tokenizer)
    datamodule.setup()
    return [getattr(item, "prompt", None) or item.context for item in datamodule.plans[0].items]


@torch.no_grad()
def seed_method(model, tokenizer, prompts: list[list[int]], new_tokens: int) -> float:
    """Seconds to answer every prompt by batch-1 greedy generation of up to ``new_tokens`` tokens, no stop sequence."""
    start = time.perf_counter()
    for prompt in prompts:
        output = model.generate(
            torch.tensor([prompt]),
            attention_mask=torch.ones(1, len(prompt), dtype=torch.long),
            max_new_tokens=new_tokens,
            do_sample=False,
            pad_token_id=tokenizer.pad_token_id,
        )
        tokenizer.decode(output[0, len(prompt) :], skip_special_tokens=True)
    return time.perf_counter() - start


def ours(model, tokenizer, task: str, items: int, args: argparse.Namespace) -> float:
    """Seconds of our batched evaluation of ``task``, end to end."""
    start = time.perf_counter()
    evaluate_model(
        model,
        tokenizer,
        [task],
        data_dir=args.data_dir,
        seqlen=args.seqlen,
        limit=items,
        num_fewshot=args.num_fewshot,
        batch_size=args.batch_size,
        **protocol(args),
    )
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.no_prefix_reuse:
        forward.MIN_SHARED_PREFIX = 10**9
    tokenizer, model = load_tokenizer(args.model), load_model(args.model)
    tasks = [
        (args.choice_task, args.choice_items, args.seed_choice_tokens),
        (args.generation_task, args.generation_items, args.seed_generation_tokens),
    ]
    tasks = [task for task in tasks if task[1] > 0]
    report: dict = {
        "model": args.model,
        "device": platform.processor() or platform.machine(),
        "threads": torch.get_num_threads(),
        "num_fewshot": args.num_fewshot,
        "seed_new_tokens": {"choice": args.seed_choice_tokens, "generation": args.seed_generation_tokens},
        "batch_size": args.batch_size,
        "shared_exemplars": args.shared_exemplars,
        "prefix_reuse": not args.no_prefix_reuse,
        "tasks": {},
    }
    if args.perplexity_windows:
        times = sorted(
            ours(model, tokenizer, args.perplexity_task, args.perplexity_windows, args) for _ in range(args.repeats)
        )
        report["perplexity"] = {
            "task": args.perplexity_task,
            "windows": args.perplexity_windows,
            "seqlen": args.seqlen,
            "ours_s": times[0],
            "ours_median_s": times[len(times) // 2],
            "ours_windows_per_s": args.perplexity_windows / times[0],
        }
        print(
            f"{args.perplexity_task}: {args.perplexity_windows} windows of {args.seqlen}, "
            f"ours {args.perplexity_windows / times[0]:.3f} windows/s",
            flush=True,
        )
    for task, items, seed_tokens in tasks:
        prompts = prompts_of(task, items, tokenizer, args)
        times = sorted(ours(model, tokenizer, task, items, args) for _ in range(args.repeats))
        ours_s = times[0]
        seed_s = float("nan") if args.skip_seed else seed_method(model, tokenizer, prompts, seed_tokens)
        report["tasks"][task] = {
            "items": len(prompts),
            "mean_prompt_tokens": sum(map(len, prompts)) / len(prompts),
            "ours_s": ours_s,
            "ours_median_s": times[len(times) // 2],
            "seed_s": seed_s,
            "ours_examples_per_s": len(prompts) / ours_s,
            "seed_examples_per_s": len(prompts) / seed_s,
            "ratio": seed_s / ours_s,
        }
        print(
            f"{task}: {len(prompts)} items, ours {len(prompts) / ours_s:.3f} ex/s, "
            f"seed {len(prompts) / seed_s:.3f} ex/s, ratio {seed_s / ours_s:.1f}x",
            flush=True,
        )
    total_items = sum(t["items"] for t in report["tasks"].values())
    ours_total = sum(t["ours_s"] for t in report["tasks"].values())
    seed_total = sum(t["seed_s"] for t in report["tasks"].values())
    report.update(
        ours_examples_per_s=total_items / ours_total,
        seed_examples_per_s=total_items / seed_total,
        ratio=seed_total / ours_total,
    )
    print(
        f"all: ours {report['ours_examples_per_s']:.3f} ex/s, seed {report['seed_examples_per_s']:.3f} ex/s, "
        f"ratio {report['ratio']:.1f}x"
    )
    if args.output:
        Path(args.output).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return report


if __name__ == "__main__":
    main()
