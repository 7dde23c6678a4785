"""The paper's experiments in miniature: its tables, the baselines, the ablation grid and the findings.

- :mod:`~clipaac_lib.experiments.paper`: the published numbers of Tables 1-3, the systems' names and the metric names;
- :mod:`~clipaac_lib.experiments.baselines`: the yardsticks a score is read against (constant caption,
  shuffled captions, humans) and the gap share;
- :mod:`~clipaac_lib.experiments.report`: the baselines and plain-language verdicts of one run;
- :mod:`~clipaac_lib.experiments.ablations`: every system of Tables 1 and 2 as training jobs over seeds;
- :mod:`~clipaac_lib.experiments.grid`: the grid answered from run records (:mod:`~clipaac_lib.experiments.records`,
  with :mod:`~clipaac_lib.experiments.provenance`), training only what no record answers;
- :mod:`~clipaac_lib.experiments.findings`: the paper's findings and seed statistics;
- :mod:`~clipaac_lib.experiments.curves`: the grid's validation curves and batch size at equal steps;
- :mod:`~clipaac_lib.experiments.parallel`: independent runs in one-thread worker processes;
- :mod:`~clipaac_lib.experiments.intervals` and :mod:`~clipaac_lib.experiments.paired`: each finding
  decided seed by seed, with a 95 % interval, a label and the design's detectable effect;
- :mod:`~clipaac_lib.experiments.scarcity`: the caption-scarcity sweep's jobs and pilot rule (issue 31's
  design in ``results/README.md``), run pilots first by :mod:`~clipaac_lib.experiments.sweep`, compared per size by
  :mod:`~clipaac_lib.experiments.scarcity_findings` and drawn by :mod:`~clipaac_lib.experiments.scarcity_plots`;
  its two pretraining corpora are set side by side by :mod:`~clipaac_lib.experiments.scarcity_encoders`.

It sits above ``train`` (it calls :func:`clipaac_lib.train.train`) and below the command line.
Notebooks: ``notebooks/05_train.ipynb`` (one run's report), ``notebooks/06_ablations.ipynb``,
``notebooks/08_scarcity.ipynb`` (the caption-scarcity sweep).
"""

from clipaac_lib.experiments.ablations import (
    GRID_RECIPE,
    REFERENCE_SYSTEM,
    SUMMARY_METRICS,
    Job,
    figure2_similarities,
    first_run,
    grid_plan,
    merge_summaries,
    parse_seeds,
    parse_tables,
    plot_figure2,
    plot_systems,
    seeded_systems,
    select_systems,
    side_by_side,
    summarize,
    table1_jobs,
    table2_jobs,
)
from clipaac_lib.experiments.baselines import Baselines, compute_baselines, gap_share, split_clips
from clipaac_lib.experiments.curves import (
    CURVE_COLUMNS,
    CURVE_METRIC,
    EQUAL_STEPS_FINDING,
    curve_gaps,
    equal_steps_epochs,
    equal_steps_job,
    equal_steps_jobs,
    grid_curves,
    last_epoch_change,
    plot_curves,
)
from clipaac_lib.experiments.findings import (
    FINDINGS,
    Finding,
    png_bytes,
)
from clipaac_lib.experiments.grid import (
    Grid,
    default_results_dir,
    grid_jobs,
    record_run,
    results_folder,
    run_grid,
)
from clipaac_lib.experiments.intervals import PairedDifference, paired_difference
from clipaac_lib.experiments.paired import (
    alpha_dose_response,
    describe_paired,
    findings_tables,
    paired_findings,
    plot_alpha_dose_response,
    plot_paired_findings,
    system_scores,
)
from clipaac_lib.experiments.paper import (
    CLOTHO_YARDSTICKS,
    METRIC_NAMES,
    SYSTEM_NAMES,
    TABLE1,
    TABLE2,
    TABLE3,
    paper_table,
    paper_table3,
    system_name,
)
from clipaac_lib.experiments.parallel import default_workers, expected_minutes, train_all
from clipaac_lib.experiments.provenance import code_fingerprint, describe_provenance, provenance
from clipaac_lib.experiments.records import RunRecord, read_records, write_record
from clipaac_lib.experiments.report import event_coverage, run_baselines, run_verdicts
from clipaac_lib.experiments.scarcity import (
    PILOT_SHARE,
    PILOT_SYSTEMS,
    SIZES,
    TENFOLD_CORPUS,
    TENFOLD_SIZES,
    cell_tag,
    epochs_for,
    parse_sizes,
    pilot_decisions,
    pilot_moves,
    scarcity_design,
    scarcity_jobs,
    tenfold_in,
    tenfold_jobs,
    tenfold_tag,
)
from clipaac_lib.experiments.scarcity_encoders import (
    ENCODER_COLUMNS,
    corpus_encoders,
    encoder_record_name,
    write_encoder_records,
)
from clipaac_lib.experiments.scarcity_findings import (
    SWEEP_COLUMNS,
    SWEEP_PAIRS,
    SWEEP_SYSTEMS,
    cell_levels,
    describe_sweep,
    sweep_differences,
    tenfold_differences,
)
from clipaac_lib.experiments.scarcity_plots import plot_scarcity
from clipaac_lib.experiments.shipped import installed_ref, shipped_results_dir
from clipaac_lib.experiments.sweep import Sweep, run_sweep
from clipaac_lib.experiments.yardsticks import Yardsticks, held_out_yardsticks

__all__ = [
    "CLOTHO_YARDSTICKS",
    "CURVE_COLUMNS",
    "findings_tables",
    "installed_ref",
    "curve_gaps",
    "Yardsticks",
    "describe_provenance",
    "held_out_yardsticks",
    "split_clips",
    "Grid",
    "RunRecord",
    "alpha_dose_response",
    "code_fingerprint",
    "default_results_dir",
    "results_folder",
    "expected_minutes",
    "grid_jobs",
    "plot_alpha_dose_response",
    "provenance",
    "read_records",
    "record_run",
    "shipped_results_dir",
    "system_scores",
    "write_record",
    "CURVE_METRIC",
    "EQUAL_STEPS_FINDING",
    "equal_steps_epochs",
    "equal_steps_job",
    "equal_steps_jobs",
    "grid_curves",
    "last_epoch_change",
    "plot_curves",
    "train_all",
    "grid_plan",
    "default_workers",
    "FINDINGS",
    "GRID_RECIPE",
    "METRIC_NAMES",
    "REFERENCE_SYSTEM",
    "SUMMARY_METRICS",
    "TABLE1",
    "SYSTEM_NAMES",
    "TABLE2",
    "TABLE3",
    "Baselines",
    "Finding",
    "Job",
    "PairedDifference",
    "compute_baselines",
    "describe_paired",
    "event_coverage",
    "figure2_similarities",
    "first_run",
    "gap_share",
    "merge_summaries",
    "paired_difference",
    "paired_findings",
    "paper_table",
    "paper_table3",
    "parse_seeds",
    "parse_tables",
    "plot_figure2",
    "plot_paired_findings",
    "plot_systems",
    "png_bytes",
    "run_baselines",
    "run_grid",
    "run_verdicts",
    "seeded_systems",
    "select_systems",
    "side_by_side",
    "summarize",
    "system_name",
    "table1_jobs",
    "table2_jobs",
    # the caption-scarcity sweep (issue 31)
    "SIZES",
    "TENFOLD_SIZES",
    "TENFOLD_CORPUS",
    "PILOT_SYSTEMS",
    "PILOT_SHARE",
    "epochs_for",
    "cell_tag",
    "scarcity_jobs",
    "tenfold_jobs",
    "pilot_moves",
    "pilot_decisions",
    "Sweep",
    "run_sweep",
    "tenfold_tag",
    "tenfold_in",
    "parse_sizes",
    "scarcity_design",
    "SWEEP_PAIRS",
    "SWEEP_SYSTEMS",
    "SWEEP_COLUMNS",
    "cell_levels",
    "sweep_differences",
    "tenfold_differences",
    "describe_sweep",
    "plot_scarcity",
    "corpus_encoders",
    "ENCODER_COLUMNS",
    "encoder_record_name",
    "write_encoder_records",
]
