#!/usr/bin/env python
"""Kill-anywhere stress: run a training stage (cpt, sft, or rl with each online algorithm: grpo, rloo, ppo) on
tiny-random, SIGKILL it at random moments (mid-step, mid checkpoint save, mid publish), rerun, repeat; every finished
run must equal an uninterrupted one (same seed). Writes <root>/stress-<stage>.json and prints a summary; exit status
0 only when no run was lost or corrupted.

    python bench/stress_kill_resume.py --stage sft --root /tmp/stress-sft            # 20 kills
    python bench/stress_kill_resume.py --stage rl --algorithm rloo --root /tmp/stress-rloo"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SCRIPTS = {"cpt": "2_train_cpt.py", "sft": "3_train_sft.py", "rl": "4_train_rl.py"}
ONLINE = ("grpo", "rloo", "ppo")  # the RL algorithms that generate while training
SAVE_EVERY, KEEP = 2, 2
# The trainer's progress bar has no label ("Loading weights: ..." bars do).
PROGRESS = re.compile(r"(?:^|\r)\s*\d+%\|[^|\r\n]*\|\s*(\d+)/(\d+) \[", re.M)
RESUMED = re.compile(r"resuming from (\S+)")
# Child processes use one thread: on a shared CPU, thread handoffs cost more than tiny matmuls gain.
CHILD_ENV = {
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "TOKENIZERS_PARALLELISM": "false",
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
}


def stage_overrides(stage: str, data_dir: Path, steps: int, algorithm: str = "grpo") -> list[str]:
    """Config overrides (on configs/smoke.yaml) that make `stage` train `steps` steps with frequent checkpoints."""
    data_dir.mkdir(parents=True, exist_ok=True)
    train = [
        f"{stage}.max_steps={steps}",
        f"{stage}.save_steps={SAVE_EVERY}",
        f"{stage}.save_total_limit={KEEP}",
        f"{stage}.logging_steps=1",
    ]
    if stage == "sft":
        return train
    if stage == "cpt":
        corpus = _write_corpus(data_dir / "corpus.txt")
        return [
            f"data.sources=[{{kind: task, task: arithmetic, n: 40}}, {{path: {corpus}}}]",
            "cpt.enabled=true",
            "cpt.max_length=32",
            "cpt.batch_size=4",
            "cpt.learning_rate=5e-3",
            *train,
        ]
    scored = _write_scored(data_dir / "scored.jsonl")
    # External + length rewards differ between a random model's completions; a task score would be 0 for all.
    return [
        f"data.sources=[{{kind: file, path: {scored}, format: scored_conversation}}]",
        "sft.enabled=false",
        "rl.enabled=true",
        f"rl.algorithm={algorithm}",
        "rl.batch_size=4",
        "rl.num_generations=2",
        "rl.max_completion_length=6",
        "rl.learning_rate=1e-3",
        "rl.warmup_ratio=0",
        "rl.rewards=[{name: external, low: 0, high: 10}, {name: length, target_length: 4}]",
        *train,
    ]


def snapshot_code(folder: Path) -> Path:
    """Copy trainpipe, the stage scripts and configs/smoke.yaml into `folder` and import from there: every
    attempt of a long stress must run the same code and schema (a config field added by an edit in the working
    tree would change the fingerprint mid-run). Returns the folder; put it first on the import path."""
    skip = shutil.ignore_patterns("__pycache__")
    shutil.copytree(REPO / "src" / "trainpipe", folder / "trainpipe", ignore=skip)
    shutil.copytree(REPO / "scripts", folder / "scripts", ignore=skip)
    shutil.copy(REPO / "configs" / "smoke.yaml", folder / "smoke.yaml")
    sys.path.insert(0, str(folder))
    os.environ["PYTHONPATH"] = os.pathsep.join([str(folder), *filter(None, [os.environ.get("PYTHONPATH")])])
    return folder


def _write_corpus(path: Path) -> Path:
    rng = random.Random(0)
    words = [a + b + c for a in "bcdfgklmnprstvz" for b in "aeiou" for c in ("n", "r", "s", "ta", "mo")]
    docs = [" ".join(rng.choice(words) for _ in range(rng.randint(5, 30))) for _ in range(40)]
    path.write_text("\n\n".join(docs) + "\n", encoding="utf-8")
    return path


def _write_scored(path: Path) -> Path:
    colours = ["red", "green", "blue", "gold", "pink", "grey", "teal", "navy", "plum", "lime", "rose", "sand"]
    rows = [
        {
            "conversation": [
                {"role": "user", "content": f"Describe the colour {c}."},
                {"role": "assistant", "content": f"{c.title()} is a colour; many things are {c}."},
            ],
            "meta_eval_score": 2 + i % 8,
        }
        for i, c in enumerate(colours)
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


@dataclass
class Run:
    """One stage's folders under a paths.root."""

    stage: str
    root: Path
    steps: int
    code: Path  # snapshot_code's folder: scripts/, smoke.yaml

    @property
    def dest(self) -> Path:
        from trainpipe.artifacts import Layout
        from trainpipe.stages import output

        return output(Layout(self.root), self.stage)

    @property
    def ckpts(self) -> Path:
        from trainpipe.artifacts import Layout

        return Layout(self.root).checkpoints(self.stage)

    def checkpoints(self) -> list[tuple[int, Path, bool]]:
        from trainpipe.training.checkpoints import list_checkpoints

        return list_checkpoints(self.ckpts)

    def latest_complete(self) -> Path | None:
        done = [p for _, p, ok in self.checkpoints() if ok]
        return done[-1] if done else None

    def weights(self) -> dict:
        from safetensors.torch import load_file

        return load_file(self.dest / "model.safetensors")

    def losses(self) -> list[float]:
        state = json.loads((self.ckpts / f"checkpoint-{self.steps}" / "trainer_state.json").read_text())
        return [h["loss"] for h in state["log_history"] if "loss" in h]


@dataclass
class Report:
    stage: str
    seed: int
    algorithm: str = ""  # rl only
    kills: int = 0
    kills_by_phase: dict = field(default_factory=dict)
    attempts: int = 0
    resumes: int = 0
    fresh_starts: int = 0
    completed_runs: int = 0
    mismatches: int = 0
    failures: list = field(default_factory=list)
    reference_seconds: float = 0.0
    wall_seconds: float = 0.0

    def fail(self, message: str) -> None:
        self.failures.append(message)
        print(f"  FAILURE: {message}", file=sys.stderr, flush=True)


def reference(run: Run, overrides: list[str]) -> dict:
    """The uninterrupted run, in this process (collect first), against which every finished run is compared."""
    import torch

    from trainpipe.config import load_config
    from trainpipe.pipeline import run_stage

    torch.set_num_threads(1)  # the same numerics as the children
    cfg = load_config(str(run.code / "smoke.yaml"), [f"paths.root={run.root}", *overrides])
    run_stage(cfg, "collect")
    return run_stage(cfg, run.stage, force=True)


def launch(run: Run, overrides: list[str], log: Path, hooks: dict) -> subprocess.Popen:
    cmd = [
        sys.executable,
        str(run.code / "scripts" / SCRIPTS[run.stage]),
        "--config",
        str(run.code / "smoke.yaml"),
        f"paths.root={run.root}",
        *overrides,
    ]
    env = {**os.environ, **CHILD_ENV, **hooks}
    with open(log, "wb") as fh:
        return subprocess.Popen(cmd, cwd=REPO, stdout=fh, stderr=subprocess.STDOUT, env=env)


def phase(run: Run, log_text: str) -> str:
    """Where the child is, judged from outside: publishing, saving a checkpoint, training, or starting up."""
    if list(run.dest.parent.glob(f".{run.dest.name}.old-*")) or (
        run.dest.exists() and not (run.dest / "manifest.json").exists()
    ):
        return "publish"
    partial = [p for _, p, ok in run.checkpoints() if not ok]
    if partial:
        return "checkpoint-marker" if (partial[-1] / "trainer_state.json").exists() else "checkpoint-save"
    if "'train_loss'" in log_text:  # the trainer's closing summary: training is over, the model is being saved
        return "final-save"
    return "step" if PROGRESS.search(log_text) else "startup"


@dataclass
class Plan:
    """When to kill one attempt: mode, the crash-window hooks it sets, and its random delays."""

    mode: str
    hooks: dict
    delay: float


def make_plan(rng: random.Random, index: int, kills: int) -> Plan:
    # A short run (CI) takes one kill of each kind; a long one draws them at random.
    modes = ["checkpoint", "step", "publish"]
    mode = modes[index] if kills <= 3 else rng.choice(modes + ["anytime", "step", "checkpoint"])
    if mode == "checkpoint":
        return Plan(mode, {"TRAINPIPE_TEST_SLEEP_IN_CHECKPOINT": f"{rng.uniform(0.3, 0.8):.2f}"}, rng.uniform(0, 0.3))
    if mode == "publish":
        return Plan(mode, {"TRAINPIPE_TEST_SLEEP_IN_PUBLISH": f"{rng.uniform(0.3, 0.8):.2f}"}, rng.uniform(0, 0.25))
    # A short run's step kill comes after the first checkpoint, so the attempt after it resumes from one.
    return Plan(mode, {}, 1.0 if kills <= 3 else rng.random())


def due(plan: Plan, run: Run, text: str, started: float, known: set, est: dict) -> bool:
    """Whether the moment to kill has come (polled every few milliseconds)."""
    if plan.mode == "checkpoint":
        return any(not ok and p.name not in known for _, p, ok in run.checkpoints())
    if plan.mode == "publish":
        return phase(run, "") == "publish"
    if plan.mode == "anytime":
        return time.time() - started > plan.delay * (est["startup"] + run.steps * est["step"])
    seen = [int(done) for done, _ in PROGRESS.findall(text)]
    # "step": once a step drawn among those left has finished, then part of a step later (see attempt). The draw
    # stops two steps short of the end, so a late kill still lands in a step, not in the final save or publish.
    if not seen:
        return False
    last = max(seen[0], run.steps - 2)
    if seen[-1] < min(last, seen[0] + int(plan.delay * (last - seen[0] + 1))):
        return False
    # A step that ends in a checkpoint save: wait for the save to complete, so the kill lands in the next step.
    return seen[-1] % SAVE_EVERY != 0 or any(s == seen[-1] and ok for s, _, ok in run.checkpoints())


def attempt(run: Run, overrides: list[str], plan: Plan | None, log: Path, est: dict) -> tuple[int | None, str]:
    """Run the stage once; kill it per `plan` (None: let it finish). Returns (exit status or None, phase)."""
    known = {p.name for _, p, _ in run.checkpoints()}
    proc = launch(run, overrides, log, plan.hooks if plan else {})
    started, deadline = time.time(), time.time() + 1800
    try:
        while proc.poll() is None and time.time() < deadline:
            text = log.read_text(errors="replace")
            if "progress" not in est and PROGRESS.search(text):
                est["startup"] = est["progress"] = time.time() - started
            if plan and due(plan, run, text, started, known, est):
                if plan.mode in ("checkpoint", "publish"):
                    time.sleep(plan.delay)  # somewhere inside the crash window, or just past it
                elif plan.mode == "step":
                    time.sleep(random.Random(plan.delay).uniform(0, est["step"]))  # into the next step
                where = phase(run, log.read_text(errors="replace"))
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait()
                return None, where
            time.sleep(0.02)
    finally:
        if proc.poll() is None:  # past the deadline, or this script was interrupted
            proc.kill()
            proc.wait()
    return (proc.returncode, "finished") if time.time() < deadline else (-9, "hung")


class Stress:
    """The kill / check / rerun loop over rounds; a round ends with a finished run compared to the reference."""

    def __init__(self, stage: str, root: Path, seed: int, steps: int = 12, algorithm: str = "grpo"):
        self.stage, self.root, self.rng, self.steps = stage, root, random.Random(seed), steps
        self.overrides = stage_overrides(stage, root / "data", steps, algorithm)
        self.report = Report(stage, seed, algorithm if stage == "rl" else "")
        code = snapshot_code(root / "code")
        self.ref, self.run = Run(stage, root / "clean", steps, code), Run(stage, root / "killed", steps, code)
        self.previous: dict | None = None  # manifest + weights digest of the output present before this round
        self.est = {"startup": 10.0, "step": 1.0}
        self.n = 0

    def prepare(self) -> None:
        started = time.time()
        manifest = reference(self.ref, self.overrides)
        self.ref_fp, self.ref_steps = manifest["fingerprint"], manifest["metrics"]["steps"]
        self.report.reference_seconds = round(time.time() - started, 1)
        self.est["step"] = max(0.05, manifest["metrics"]["train_seconds"] / max(1, self.ref_steps))
        shutil.rmtree(self.run.root, ignore_errors=True)
        shutil.copytree(self.ref.root / "data_cache", self.run.root / "data_cache")

    def one(self, plan: Plan | None) -> int | None:
        """One attempt plus its checks; returns the exit status (None when killed)."""
        expected = self.run.latest_complete()
        floor = int(expected.name.split("-")[1]) if expected else 0
        self.n += 1
        log = self.root / "logs" / f"attempt-{self.n:03d}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        code, where = attempt(self.run, self.overrides, plan, log, self.est)
        self.report.attempts += 1
        self._check_resume(log.read_text(errors="replace"), expected)
        if code is None:
            self.report.kills += 1
            self.report.kills_by_phase[where] = self.report.kills_by_phase.get(where, 0) + 1
            print(f"  attempt {self.n}: {plan.mode} kill landed in {where}", file=sys.stderr, flush=True)
            self._check_after_kill(floor)
        elif code != 0:
            self.report.fail(f"attempt {self.n} exited {code} ({where}); see {log}")
        return code

    def _check_resume(self, text: str, expected: Path | None) -> None:
        found = RESUMED.findall(text)
        if "up to date" in text or not (found or PROGRESS.search(text)):
            return  # skipped, or killed before it chose where to resume from
        if found:
            self.report.resumes += 1
        else:
            self.report.fresh_starts += 1
        if (found[-1] if found else None) != (str(expected) if expected else None):
            self.report.fail(f"attempt {self.n} resumed from {found or 'nothing'}; the latest complete was {expected}")

    def _check_after_kill(self, floor: int) -> None:
        """What a killed run leaves: the previous output whole (or the new one complete), no lost checkpoint."""
        from trainpipe import artifacts

        artifacts.recover(self.run.dest)  # what the next run does first, under its lock
        manifest = artifacts.read_manifest(self.run.dest)
        if manifest is None and self.previous is not None:
            self.report.fail(f"attempt {self.n}: the previous output of {self.run.dest} was lost")
        elif manifest is not None and manifest["fingerprint"] == self.ref_fp:
            self._compare("output published before the kill")
        elif manifest is not None and (
            self.previous is None
            or manifest != self.previous["manifest"]
            or artifacts.file_digest(self.run.dest / "model.safetensors") != self.previous["digest"]
        ):
            self.report.fail(f"attempt {self.n}: {self.run.dest} holds an unexpected or altered output")
        steps = [s for s, p, ok in self.run.checkpoints() if ok]
        if (max(steps) if steps else 0) < floor:
            self.report.fail(f"attempt {self.n}: complete checkpoints went back from {floor} to {steps}")
        for s, p, ok in self.run.checkpoints():
            if ok and json.loads((p / "trainer_state.json").read_text())["global_step"] != s:
                self.report.fail(f"attempt {self.n}: {p} is marked complete but its trainer state disagrees")

    def _compare(self, what: str) -> bool:
        """A finished run against the reference: fingerprint, steps, loss history (data order) and weights."""
        import torch

        from trainpipe import artifacts

        manifest = artifacts.read_manifest(self.run.dest)
        a, b = self.run.weights(), self.ref.weights()
        la, lb = self.run.losses(), self.ref.losses()
        problems = [
            name
            for name, ok in (
                ("fingerprint", manifest["fingerprint"] == self.ref_fp),
                ("steps", manifest["metrics"]["steps"] == self.ref_steps),
                ("weights", a.keys() == b.keys() and all(torch.allclose(a[k], b[k], atol=1e-5, rtol=1e-4) for k in a)),
                ("losses", len(la) == len(lb) and all(abs(x - y) <= 1e-3 * max(1.0, abs(y)) for x, y in zip(la, lb))),
            )
            if not ok
        ]
        if problems:
            self.report.mismatches += 1
            self.report.fail(
                f"attempt {self.n}: {what} differs from the uninterrupted run in {problems} (losses {la} vs {lb})"
            )
        return not problems

    def finish_round(self) -> None:
        """The run finished: compare it and check what its checkpoint folder kept."""
        self._compare("finished run")
        self.report.completed_runs += 1
        ckpts = self.run.checkpoints()
        if any(not ok for *_, ok in ckpts) or not 1 <= sum(ok for *_, ok in ckpts) <= KEEP:
            self.report.fail(f"round end: checkpoints {[(s, ok) for s, _, ok in ckpts]} (keep {KEEP})")

    def next_round(self) -> None:
        """A fresh run: with no output (even rounds) or over an older output that every kill must leave whole."""
        from trainpipe import artifacts

        shutil.rmtree(self.run.ckpts)
        if self.report.completed_runs % 2:
            manifest = {**artifacts.read_manifest(self.run.dest), "fingerprint": f"older-{self.report.completed_runs}"}
            artifacts.write_json_atomic(self.run.dest / "manifest.json", manifest)
            self.previous = {
                "manifest": artifacts.read_manifest(self.run.dest),
                "digest": artifacts.file_digest(self.run.dest / "model.safetensors"),
            }
        else:
            shutil.rmtree(self.run.dest)
            self.previous = None

    def go(self, kills: int) -> Report:
        started = time.time()
        self.prepare()
        index = 0
        while self.report.kills < kills and len(self.report.failures) < 5:
            code = self.one(make_plan(self.rng, index, kills))
            index += code is None
            if code == 0:
                self.finish_round()
                self.next_round()
        code = None
        while code is None and len(self.report.failures) < 5:
            code = self.one(None)
        if code == 0:
            self.finish_round()
        self.report.wall_seconds = round(time.time() - started, 1)
        return self.report


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--stage", choices=sorted(SCRIPTS), required=True)
    p.add_argument("--algorithm", choices=ONLINE, default="grpo", help="rl only: the online algorithm to train")
    p.add_argument("--kills", type=int, default=20)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--steps", type=int, default=12, help="training steps per run (a checkpoint every 2)")
    p.add_argument("--root", required=True, help="work folder (emptied first)")
    args = p.parse_args(argv)
    root = Path(args.root).resolve()
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    report = Stress(args.stage, root, args.seed, args.steps, args.algorithm).go(args.kills)
    label = f"rl-{args.algorithm}" if args.stage == "rl" else args.stage
    out = root / f"stress-{label}.json"
    out.write_text(json.dumps(report.__dict__, indent=2), encoding="utf-8")
    ok = not report.failures and not report.mismatches and report.completed_runs >= 1
    print(
        f"{label}: {report.kills} kills {report.kills_by_phase}, {report.attempts} attempts, "
        f"{report.resumes} resumes, {report.fresh_starts} fresh starts, {report.completed_runs} finished runs, "
        f"{report.mismatches} mismatches, {len(report.failures)} failures in {report.wall_seconds} s -> "
        f"{'PASS' if ok else 'FAIL'} ({out})"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
