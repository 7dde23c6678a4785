"""The paper's ablation grids as papermill jobs of ``notebooks/05_train.ipynb``.

- Table 1: encoder initialisation (random, audio-only, audio-text frozen, audio-text), batch 8;
- Table 2: contrastive weight alpha (0, 0.1, 0.2, 0.3 at batch 8) and batch size (4, 8, 16 at alpha 0.2),
  with the encoder of system 4 (AudioCLIP init), or ``random`` where the weights are not available.

:func:`run_grid` executes ``05_train`` once per system with papermill (each executed notebook is kept as
the job's record), reusing finished runs (``05_train`` finds a run with the same configuration in the run
cache), and returns one row per system with its scores. Systems whose pre-trained weights are not
available (offline, not downloaded) are reported as such, never run with other weights.
Notebook: ``notebooks/06_ablations.ipynb``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from clipaac_lib.paper import METRIC_COLUMNS, TABLE1, TABLE2

__all__ = ["Job", "table1_jobs", "table2_jobs", "run_job", "run_grid", "TRAIN_NOTEBOOK"]

TRAIN_NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "05_train.ipynb"


@dataclass
class Job:
    """One system of a paper table: its id and the ``05_train`` parameters that reproduce it."""

    system: int
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return f"system{self.system:02d}"


def table1_jobs(**common: Any) -> list[Job]:
    """Paper Table 1: systems 1-4 (initialisation and freezing), plus ``common`` parameters."""
    return [Job(sid, {**common, **setting, "batch_size": 8}) for sid, (setting, _) in TABLE1.items()]


def table2_jobs(init: str = "audio_text", **common: Any) -> list[Job]:
    """Paper Table 2: systems 5-10 (alpha and batch size) with encoder initialisation ``init``."""
    return [Job(sid, {**common, **setting, "init": init}) for sid, (setting, _) in TABLE2.items()]


def run_job(job: Job, out_dir: str | os.PathLike[str], notebook: str | os.PathLike[str] = TRAIN_NOTEBOOK,
            *, progress: bool = False) -> Path:
    """Execute ``notebook`` with ``job.params`` via papermill; the executed copy goes to ``out_dir``."""
    import logging

    import papermill

    # papermill warns about every parameter-cell comment it cannot type-infer; the injected values are fine
    logging.getLogger("papermill").setLevel(logging.ERROR)
    out = Path(out_dir) / f"{job.name}.ipynb"
    out.parent.mkdir(parents=True, exist_ok=True)
    # the job kernel's own start-up warnings (e.g. about its local TCP transport) would land in the
    # calling notebook's output; its errors still show
    papermill.execute_notebook(str(notebook), str(out), parameters=job.params, kernel_name="python3",
                               cwd=str(Path(notebook).parent), progress_bar=progress,
                               extra_arguments=["--IPKernelApp.log_level=ERROR"])
    return out


def _scores_row(job: Job) -> dict[str, Any]:
    """The finished run of ``job`` (trained by :func:`run_job`), read back without training."""
    from clipaac_lib.train import TrainConfig, train

    known = {f for f in TrainConfig.__dataclass_fields__}
    config = TrainConfig(**{k: v for k, v in job.params.items() if k in known}).replace(reuse=True, progress=False)
    result = train(config)
    if not result.reused:
        raise RuntimeError(f"{job.name}: the run was not found after its notebook ran ({result.run_dir})")
    metrics = result.scores.get("metrics") or {}
    return {**{m: metrics.get(m) for m in METRIC_COLUMNS}, "a2t_r1": result.scores["retrieval"]["a2t_r1"],
            "run_dir": str(result.run_dir)}


def run_grid(jobs: list[Job], out_dir: str | os.PathLike[str] | None = None, *,
             notebook: str | os.PathLike[str] = TRAIN_NOTEBOOK) -> Any:
    """Run every job whose weights are available and return a pandas DataFrame, one row per system:
    its parameters, ``status`` ("ran" or why not), the test metrics and audio-to-text recall@1.

    The executed notebooks go to ``out_dir`` (default ``<cache>/ablations``).
    """
    import pandas as pd
    from tqdm.auto import tqdm

    from clipaac_lib.paths import subdir
    from clipaac_lib.pretrained import INIT_WEIGHTS, weights_present

    out_dir = subdir("ablations") if out_dir is None else out_dir

    rows = []
    for job in tqdm(jobs, desc="ablation systems"):
        init = job.params.get("init", "random")
        row: dict[str, Any] = {"system": job.system, **job.params}
        if not weights_present(init):
            row["status"] = f"not run: {INIT_WEIGHTS[init]} not available offline"
        else:
            run_job(job, out_dir, notebook)
            row.update(status="ran", **_scores_row(job))
        rows.append(row)
    return pd.DataFrame(rows).set_index("system")
