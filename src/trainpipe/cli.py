"""Argument handling every script shares: --config, --force, dotted overrides; exit codes 0/1/2/3.

0 done, 1 unexpected failure (traceback in logs/<stage>/run.log), 2 bad config/input or a full disk, 3 gate failed.
"""

from __future__ import annotations

import argparse
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

from trainpipe import artifacts
from trainpipe.errors import UserError, disk_full
from trainpipe.secrets import redact

log = logging.getLogger("trainpipe")


def _parser(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--config", default="config.yaml", help="YAML config (default: config.yaml)")
    p.add_argument("--force", action="store_true", help="rerun even when the output is up to date")
    p.add_argument("overrides", nargs="*", help="dotted.key=value overrides")
    return p


def _fail(exc: BaseException) -> int:

    if isinstance(exc, UserError):
        print(f"error: {redact(str(exc))}", file=sys.stderr)
        return exc.exit_code
    if (full := disk_full(exc)) is not None:
        print(
            f"error: out of disk space ({redact(str(full))}). Free space under paths.root (or lower "
            "save_total_limit) and rerun: published outputs are untouched, and training resumes from its last "
            "complete checkpoint.",
            file=sys.stderr,
        )
        return 2
    print(f"error: unexpected failure: {redact(repr(exc))} (traceback in logs/<stage>/run.log)", file=sys.stderr)
    return 1


def stage_main(stage: str, argv: list[str] | None = None) -> int:
    """Entry point of scripts/N_<stage>.py."""
    # intermixed: `--force` may come after overrides (plain parse_args rejects the overrides that follow it)
    args = _parser(f"trainpipe stage: {stage}").parse_intermixed_args(argv)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    try:
        from trainpipe.config import load_config
        from trainpipe.pipeline import run_stage
        from trainpipe.runlog import setup_console

        setup_console()
        cfg = load_config(args.config, args.overrides)
        run_stage(cfg, stage, force=args.force, argv=sys.argv)
        return 0
    except (UserError, Exception) as exc:  # noqa: BLE001 - every failure becomes an exit status
        return _fail(exc)


def pipeline_main(argv: list[str] | None = None) -> int:
    """Entry point of scripts/run_full_pipeline.py: each enabled stage in its own process."""
    from trainpipe.pipeline import enabled, status_rows
    from trainpipe.stages import stages

    table = stages()  # pipeline order
    p = _parser("run every enabled trainpipe stage in order")
    p.add_argument("--from", dest="start", choices=list(table))
    p.add_argument("--to", dest="end", choices=list(table))
    p.add_argument("--only", choices=list(table))
    p.add_argument("--status", action="store_true", help="print a table of stage states and exit")
    args = p.parse_intermixed_args(argv)
    try:
        from trainpipe.config import load_config

        cfg = load_config(args.config, args.overrides)
        if args.status:
            print(format_status(status_rows(cfg)))
            return 0
        names = list(table)
        if args.only:
            names = [args.only]
        else:
            start = names.index(args.start) if args.start else 0
            end = names.index(args.end) + 1 if args.end else len(names)
            names = names[start:end]
        order = with_fresh_inputs(cfg, names)
        for at, name in enumerate(order):
            if not enabled(cfg, name):
                print(f"== {name}: disabled (input passes through)", file=sys.stderr)
                continue
            if cfg.launch.num_machines > 1 and cfg.launch.machine_rank != 0 and not table[name].trains:
                _leave_to_machine_zero(cfg, name, any(table[n].trains for n in order[at + 1 :]))
                continue
            print(f"== {name}", file=sys.stderr)
            code = subprocess.call(_stage_command(cfg, name, args))
            if code != 0:
                print(f"error: stage {name} failed with exit status {code}", file=sys.stderr)
                return code
        return 0
    except (UserError, Exception) as exc:  # noqa: BLE001
        return _fail(exc)


def _leave_to_machine_zero(cfg, name: str, needed: bool) -> None:
    """On a machine other than rank 0: machine 0 runs stage `name`; when a training stage follows here, wait
    (up to launch.wait_seconds) until its output is published and up to date, so every machine trains on it."""

    from trainpipe.pipeline import expected_fingerprints
    from trainpipe.stages import output

    rank = cfg.launch.machine_rank
    if not needed:
        print(f"== {name}: runs on machine 0 (this is machine {rank})", file=sys.stderr)
        return
    print(f"== {name}: runs on machine 0; machine {rank} waits for its output", file=sys.stderr)
    deadline = time.monotonic() + cfg.launch.wait_seconds
    want = expected_fingerprints(cfg)[name]  # once: it hashes the stage's input files
    dest = output(artifacts.Layout(Path(cfg.paths.root).resolve()), name)
    while True:
        manifest = artifacts.read_manifest(dest)
        if manifest is not None and manifest.get("fingerprint") == want:
            return
        if time.monotonic() >= deadline:
            state = "missing" if manifest is None else "stale"
            raise UserError(
                f"machine {rank} waited {cfg.launch.wait_seconds:g} s for stage {name} from machine 0 "
                f"and found it {state} under {cfg.paths.root}; start machine 0 with the same "
                "config and a shared paths.root, or raise launch.wait_seconds"
            )
        time.sleep(min(2.0, cfg.launch.wait_seconds / 10))


def with_fresh_inputs(cfg, names: list[str]) -> list[str]:
    """`names`, with each selected stage's `refresh` stages run first when they are not selected and their results
    are not those of the models published now (deploy's evaluate, e.g. --only deploy after a retrained sft)."""
    from trainpipe.pipeline import enabled, out_of_date
    from trainpipe.stages import stages

    order: list[str] = []
    for name in names:
        for up in stages()[name].refresh if enabled(cfg, name) else ():
            if up not in names and up not in order and enabled(cfg, up) and out_of_date(cfg, up):
                print(
                    f"== {up}: its results are not those of the models published now; rerunning it before {name}",
                    file=sys.stderr,
                )
                order.append(up)
        order.append(name)
    return order


def _stage_command(cfg, name: str, args) -> list[str]:
    from trainpipe.stages import stages

    stage = stages()[name]
    script = str(Path(__file__).resolve().parents[2] / "scripts" / stage.script)
    tail = [script, "--config", args.config, *(["--force"] if args.force else []), *args.overrides]
    launch = cfg.launch
    if stage.trains and (launch.num_processes > 1 or launch.accelerate_config or launch.num_machines > 1):
        _check_sharded_launch(launch.accelerate_config)
        cmd = [sys.executable, "-m", "accelerate.commands.launch", "--num_processes", str(launch.num_processes)]
        if launch.accelerate_config:
            cmd += ["--config_file", launch.accelerate_config]
        if launch.num_machines > 1:
            cmd += ["--num_machines", str(launch.num_machines), "--machine_rank", str(launch.machine_rank)]
            cmd += ["--main_process_ip", launch.main_process_ip] if launch.main_process_ip else []
            cmd += ["--main_process_port", str(launch.main_process_port)] if launch.main_process_port else []
        return cmd + tail
    return [sys.executable, *tail]


def _check_sharded_launch(config: str | None) -> None:
    """FSDP and DeepSpeed configs need an accelerator: on a CPU-only machine accelerate would quietly run them as
    DDP (training/driver.py check_sharding refuses that inside the stage too); say so before launching."""
    if not config:
        return
    import torch
    from omegaconf import OmegaConf

    try:
        kind = OmegaConf.load(config).get("distributed_type")
    except Exception as exc:  # noqa: BLE001 - an unreadable file is bad input
        raise UserError(f"launch.accelerate_config: cannot read {config}: {exc}") from None
    if kind in ("FSDP", "DEEPSPEED") and not torch.accelerator.is_available():
        raise UserError(
            f"launch.accelerate_config={config} asks for {kind}, which accelerate runs only on GPUs "
            "(or other accelerators) and this machine has none; on CPU use "
            "configs/accelerate/ddp_cpu.yaml"
        )


def format_status(rows: list[dict]) -> str:
    cols = ("stage", "state", "fingerprint", "finished_at", "key_metric")
    widths = {c: max(len(c), *(len(str(r[c])) for r in rows)) for c in cols}
    lines = ["  ".join(c.ljust(widths[c]) for c in cols)]
    lines += ["  ".join(str(r[c]).ljust(widths[c]) for c in cols) for r in rows]
    return "\n".join(lines)
