"""Evaluation suites: held-out task prompts from the collect stage (and user eval files), with fingerprints."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from trainpipe import artifacts
from trainpipe.config import Config
from trainpipe.errors import UserError


@dataclass
class Suite:
    name: str
    kind: str  # "task": generate and score; "text": perplexity
    items: list[dict]  # {"id", "prompt", "answer", "task"} or {"id", "text"}
    settings: dict = field(default_factory=dict)  # generation settings that change results

    @property
    def fingerprint(self) -> str:
        return artifacts.fingerprint(self.name, self.kind, self.settings,
                                     [(i["id"], i.get("prompt", i.get("text")), i.get("answer")) for i in self.items])


def generation_settings(cfg: Config) -> dict:
    ev = cfg.evaluate
    return {"max_new_tokens": ev.max_new_tokens, "temperature": ev.temperature, "samples": ev.samples}


def load_suites(cfg: Config, collect_dir: Path) -> list[Suite]:
    from datasets import load_from_disk

    prompts_dir = Path(collect_dir) / "prompts"
    if not prompts_dir.exists():
        raise UserError(f"evaluate needs held-out prompts in {prompts_dir}; add a task source to data.sources")
    held_out = load_from_disk(str(prompts_dir))["eval"]
    suites = []
    for task in cfg.evaluate.tasks:
        items = [dict(r) for r in held_out if r["task"] == task][: cfg.evaluate.max_examples]
        if not items:
            raise UserError(f"evaluate.tasks lists '{task}' but the collect stage holds no held-out {task} prompts")
        suites.append(Suite(task, "task", items, generation_settings(cfg)))
    return suites
