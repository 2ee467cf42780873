"""The stage table: every stage in pipeline order (ORDER), each a module here that declares STAGE, and the contract
between a stage and the pipeline that runs it (Stage, StageIO). Every other list of stages derives from the table
and the declarations (tests/test_stage_table.py checks).
"""

from __future__ import annotations

import dataclasses
import importlib
from pathlib import Path
from typing import Callable

from trainpipe.artifacts import Layout
from trainpipe.config import Config

ORDER = ("collect", "cpt", "sft", "rl", "evaluate", "deploy")


@dataclasses.dataclass(frozen=True)
class Stage:
    name: str
    reads: tuple[str, ...]
    config_sections: tuple[str, ...]
    run: Callable[[Config, "StageIO"], dict]
    output: str  # its published folder under paths.root
    script: str  # scripts/<script> runs it alone
    needs_model: bool = False  # receives the model of the previous model stage (or the base model)
    needs_base: bool = False  # reads the base model itself (evaluate compares with it, deploy falls back to it)
    trains: bool = False  # its model feeds the stages after it; runs under accelerate launch (launch.*) on all machines
    refresh: tuple[str, ...] = ()  # upstream stages run_full_pipeline.py reruns first when they are out of date
    publish_mode: str = "replace"
    input_files: Callable[[Config], list[Path]] | None = None
    tracked: bool = False  # opens a run in each tracker of tracking.report_to (training stages and evaluate)

    @property
    def uses_base(self) -> bool:
        """Whether the base model is converted before it runs and its identity is part of the fingerprint."""
        return self.needs_model or self.needs_base


@dataclasses.dataclass
class StageIO:
    name: str
    layout: Layout
    out: Path  # temporary folder the stage writes into
    logs: Path
    checkpoints: Path
    upstream: dict[str, Path]  # enabled upstream stage -> its published folder
    models: dict[str, Path]  # model stage name ("base", "cpt", ...) -> folder, for stages that compare models
    model_in: Path | None
    fingerprint: str
    force: bool = False  # --force: start training afresh instead of resuming
    report_to: tuple[str, ...] = ()  # tracking.report_to, for the trainer's reporting callbacks
    tracker_runs: tuple[str, ...] = ()  # the tracker runs open for this stage (wandb, mlflow)
    published: Path | None = None  # the stage's published output folder (None: a trainer driven without a pipeline)


def stages() -> dict[str, Stage]:
    """Every stage in pipeline order (each module under trainpipe.stages declares one STAGE)."""
    return {name: importlib.import_module(f"trainpipe.stages.{name}").STAGE for name in ORDER}


def model_stages() -> tuple[str, ...]:
    """The training stages in pipeline order: each one's model is the input of the next."""
    return tuple(name for name, stage in stages().items() if stage.trains)


def output(layout: Layout, name: str) -> Path:
    """The published folder of stage `name`."""
    return layout.output(stages()[name])
