"""``calibprune advise``: rank candidate calibration sets for a target without pruning the whole model."""

from __future__ import annotations

import time
from typing import Any

import torch

from calibprune.advisor.measure import Measurer
from calibprune.advisor.options import AdviseOptions
from calibprune.advisor.ranking import best_probability, percentile_interval
from calibprune.advisor.report import Advice, AdviceRow, console_text, write_advice
from calibprune.advisor.scores import (
    DESCRIPTIONS,
    MEASURING_PARTS,
    TARGET_PROXIES,
    bootstrap,
    measurable,
    parts_for,
    score_table,
)
from calibprune.datamodules.calibration import CalibrationDataModule


def run_advice(
    trainer: Any, module: Any, method: Any, template: CalibrationDataModule, options: AdviseOptions
) -> Advice:
    """Check the candidates, load the model, measure them against every target, rank, write and print the advice."""
    candidates = options.candidate_sets(template)  # unknown sources and bad mixtures fail before the model loads
    targets = options.target_list()
    start = time.perf_counter()
    module.configure_model()
    module.model.eval()
    loaded = time.perf_counter()
    parts = frozenset(MEASURING_PARTS) if options.all_proxies else parts_for([options.proxy])
    proxies = measurable(parts)
    measurer = Measurer(module, trainer, method, template, options.blocks, parts=parts)
    states = [measurer.target(t, options.target_windows, options.target_offset) for t in targets]
    targeted = time.perf_counter()
    measures = [measurer.candidate(c, states) for c in candidates]
    table, by_target = score_table(measures, states, proxies=proxies)
    draws = bootstrap(measures, states, options.bootstrap, template.seed, proxies=proxies) if options.bootstrap else []
    proxy = options.proxy
    scores = table[proxy]
    samples = torch.tensor([d[proxy] for d in draws], dtype=torch.float64) if draws else None
    p_best = best_probability(samples).tolist() if samples is not None else [float("nan")] * len(scores)
    rows = []
    for i, m in enumerate(measures):
        interval = percentile_interval(samples[:, i].tolist()) if samples is not None else (scores[i], scores[i])
        rows.append(
            AdviceRow(
                rank=0,
                candidate=m.candidate.spec,
                score=scores[i],
                interval=interval,
                p_best=p_best[i],
                proxies={p: table[p][i] for p in table},
                per_target={
                    t: {p: v[i] for p, v in by_target[t].items() if p in TARGET_PROXIES or p == "combined"}
                    for t in by_target
                },
                details={
                    name: value
                    for name, value in (
                        ("moving_ttr", m.lexical),
                        ("zipf_exponent", m.zipf),
                        ("min_k_logprob", m.min_k),
                        ("effective_rank", m.diversity),
                    )
                    if value == value  # measured (not NaN)
                },
                seconds=sum(m.timings.values()),
            )
        )
    rows.sort(key=lambda r: (r.score, r.candidate))
    for position, row in enumerate(rows, start=1):
        row.rank = position
    seconds = {"load": loaded - start, "targets": targeted - loaded, "total": time.perf_counter() - start}
    for part in ("sample", *MEASURING_PARTS):
        seconds[part] = sum(m.timings.get(part, 0.0) for m in measures)
    settings = {
        "model": str(module.model_name),
        "method": type(method).__name__,
        "sparsity": f"{method.pattern.n}:{method.pattern.m}"
        if method.pattern.structured
        else f"{method.pattern.ratio:g}",
        "nsamples": template.nsamples,
        "seqlen": template.seqlen,
        "seed": template.seed,
        "blocks": options.blocks,
        "target_windows": options.target_windows,
        "target_offset": options.target_offset,
        "bootstrap": options.bootstrap,
        "measured": list(proxies),
        "proxy_meaning": DESCRIPTIONS[proxy],
    }
    advice = Advice(proxy, [t.name for t in targets], settings, rows, seconds)
    if trainer.is_global_zero:
        if options.output_dir:
            write_advice(advice, options.output_dir, options.plot)
        print(console_text(advice))
    return advice
