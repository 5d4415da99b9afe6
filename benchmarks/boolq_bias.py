"""BoolQ answer bias: accuracy, share of "yes" predictions and ranking quality by prompt variant.

Scores the same BoolQ test items with our prompts (``passage\\nQuestion: ...?\\nAnswer:``, choices `` no`` /
`` yes``) with and without the tokenizer's BOS token in front, for several numbers of exemplars, and with
lm-evaluation-harness's exact ``boolq`` text (zero-shot, question as written in the data, no BOS). Prints
accuracy, the share of items predicted "yes", the gold share, the mean margin ``ll(yes) - ll(no)`` and its
AUC against the gold label (0.5: no signal; above: the model ranks "yes" items higher, whatever its bias).

Run from the repository root::

    python benchmarks/boolq_bias.py --items 200 --shots 0 1 3 --output boolq_bias.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from calibprune.evaluation.datamodule import EvaluationDataModule
from calibprune.evaluation.loglikelihood import choice_logprobs, encode_pair
from calibprune.modeling.loading import load_model, load_tokenizer
from calibprune.tasks import get_task, load_records
from calibprune.tasks.encoding import pad_id

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="embedded", help="model to evaluate (default: the embedded SmolLM2-135M)")
    parser.add_argument("--data_dir", default=str(DEFAULT_DATA), help="folder with boolq/{train,test}.jsonl")
    parser.add_argument("--items", type=int, default=200, help="first test items")
    parser.add_argument("--shots", type=int, nargs="+", default=[0, 1, 3], help="exemplars per prompt")
    parser.add_argument("--batch_size", type=int, default=8, help="items per forward pass")
    parser.add_argument("--output", default=None, help="write the measurements to this JSON file")
    return parser.parse_args(argv)


def auc(margins: list[float], labels: list[int]) -> float:
    """Probability that a random "yes" item has a larger margin than a random "no" item (ties count half)."""
    yes = [m for m, g in zip(margins, labels, strict=True) if g == 1]
    no = [m for m, g in zip(margins, labels, strict=True) if g == 0]
    if not yes or not no:
        return float("nan")
    wins = sum((a > b) + 0.5 * (a == b) for a in yes for b in no)
    return wins / (len(yes) * len(no))


Items = list[tuple[list[int], list[list[int]]]]


def measure(model, tokenizer, items: Items, labels: list[int], batch_size: int) -> dict:
    """Accuracy, prediction shares and the yes-no margin of items ``(context, [no, yes] continuations)``."""
    margins = []
    for start in range(0, len(items), batch_size):
        for scores in choice_logprobs(model, items[start : start + batch_size], pad_id(tokenizer)):
            margins.append(float(scores[1] - scores[0]))
    n = len(labels)
    predictions = [int(m > 0) for m in margins]
    return {
        "items": n,
        "acc": sum(p == g for p, g in zip(predictions, labels, strict=True)) / n,
        "predicted_yes": sum(predictions) / n,
        "gold_yes": sum(labels) / n,
        "mean_margin": sum(margins) / n,
        "auc": auc(margins, labels),
    }


def lm_eval_items(tokenizer, data_dir: str, limit: int) -> Items:
    """lm-evaluation-harness's zero-shot ``boolq`` text: ``{passage}\\nQuestion: {question}?\\nAnswer:``, no BOS."""
    records = load_records(get_task("boolq"), "test", data_dir, limit)
    items = []
    for record in records:
        context = f"{record['passage']}\nQuestion: {record['question']}?\nAnswer:"
        pairs = [encode_pair(tokenizer, context, choice) for choice in (" no", " yes")]
        items.append((pairs[0][0], [continuation for _, continuation in pairs]))
    return items


@torch.no_grad()
def main(argv: list[str] | None = None) -> list[dict]:
    args = parse_args(argv)
    tokenizer, model = load_tokenizer(args.model), load_model(args.model)
    bos = tokenizer.bos_token_id
    variants = []
    for shots in args.shots:
        datamodule = EvaluationDataModule(["boolq"], limit=args.items, num_fewshot=shots, data_dir=args.data_dir)
        datamodule.connect(tokenizer)
        datamodule.setup()
        requests = sorted(datamodule.plans[0].items, key=lambda r: r.index)
        labels = [request.label for request in requests]
        ours = [(request.context, list(request.continuations)) for request in requests]
        variants.append(({"prompt": "ours", "shots": shots, "bos": True}, ours, labels))
        if shots == 0:
            no_bos = [(context[1:] if context[:1] == [bos] else context, conts) for context, conts in ours]
            variants.append(({"prompt": "ours", "shots": shots, "bos": False}, no_bos, labels))
            lm_eval = lm_eval_items(tokenizer, args.data_dir, args.items)
            variants.append(({"prompt": "lm-eval boolq", "shots": 0, "bos": False}, lm_eval, labels))
    rows = []
    for description, items, labels in variants:
        row = {**description, **measure(model, tokenizer, items, labels, args.batch_size)}
        rows.append(row)
        print(json.dumps(row), flush=True)
    if args.output:
        Path(args.output).write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
    return rows


if __name__ == "__main__":
    main()
