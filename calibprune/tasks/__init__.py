"""Registry of the downstream tasks of the study: adding a task is one class and one entry in ``TASKS``."""

from __future__ import annotations

from calibprune.tasks.anli import ANLIR1, ANLIR2, ANLIR3
from calibprune.tasks.base import EXEMPLAR_SEPARATOR, Example, HubSpec, Task
from calibprune.tasks.boolq import BoolQ
from calibprune.tasks.commonsense_qa import CommonsenseQA
from calibprune.tasks.esnli import ESNLI
from calibprune.tasks.gsm8k import GSM8K
from calibprune.tasks.mawps import MAWPS
from calibprune.tasks.race import RACE
from calibprune.tasks.records import DataUnavailableError, load_records, read_jsonl
from calibprune.tasks.rte import RTE
from calibprune.tasks.svamp import SVAMP
from calibprune.tasks.translation import IWSLT, WMT14
from calibprune.tasks.winogrande import WinoGrande

TASKS: dict[str, type[Task]] = {
    task.name: task
    for task in (
        GSM8K,
        SVAMP,
        MAWPS,
        ESNLI,
        ANLIR1,
        ANLIR2,
        ANLIR3,
        RTE,
        BoolQ,
        CommonsenseQA,
        RACE,
        WinoGrande,
        WMT14,
        IWSLT,
    )
}


def get_task(name: str) -> Task:
    """Return an instance of the registered task ``name``.

    Raises:
        ValueError: naming the flags and the accepted values when ``name`` is unknown.

    """
    if name not in TASKS:
        raise ValueError(f"--task/--calibration: unknown task {name!r}; accepted: {', '.join(sorted(TASKS))}")
    return TASKS[name]()


__all__ = [
    "EXEMPLAR_SEPARATOR",
    "TASKS",
    "DataUnavailableError",
    "Example",
    "HubSpec",
    "Task",
    "get_task",
    "load_records",
    "read_jsonl",
]
