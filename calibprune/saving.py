"""Write a pruned model as a Hugging Face directory, atomically (temp dir, then rename)."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

REPORT_NAME = "sparsity_report.json"


def check_save_path(path: str | Path, overwrite: bool = False) -> Path:
    """Fail early, before any work, when the save path exists and ``overwrite`` is off."""
    path = Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(f"--save_model: {str(path)!r} already exists; pass --overwrite true to replace it")
    return path


def save_pruned_model(
    model: Any, tokenizer: Any, path: str | Path, report: dict[str, Any], overwrite: bool = False
) -> Path:
    """Save model (safetensors), config, tokenizer and the sparsity report to ``path``; all or nothing."""
    path = check_save_path(path, overwrite)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.tmp-", dir=path.parent))
    try:
        model.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
        (tmp / REPORT_NAME).write_text(json.dumps(report, indent=2))
        tmp.chmod(0o755)
        if path.exists():
            shutil.rmtree(path)
        os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return path
