"""`evaluate.backend: vllm`: generation for task suites with vLLM's continuous batching on a CUDA GPU.

Prompts are tokenised with the model's own chat template, exactly as the transformers backend does.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Sequence

from trainpipe.errors import UserError
from trainpipe.evaluation.generate import Completion, as_chats
from trainpipe.models.chat import encode_prompt

# Leaves room on the GPU for the transformers copy that scores perplexity suites.
GPU_MEMORY_SHARE = 0.6


def check_available() -> None:
    """Fail early, with the fix, when vllm or a CUDA device is missing."""
    import torch

    missing = []
    if importlib.util.find_spec("vllm") is None:
        missing.append("the vllm package (pip install vllm)")
    if not torch.cuda.is_available():
        missing.append("a CUDA GPU")
    if missing:
        raise UserError(
            f"evaluate.backend=vllm needs {' and '.join(missing)}; "
            "set evaluate.backend=hf to generate with transformers instead"
        )


class VllmBackend:
    def __init__(self, path: Path | str, mcfg, dtype: str):
        check_available()
        from vllm import LLM

        from trainpipe.models.load import load_tokenizer

        self.tokenizer = load_tokenizer(path, mcfg, padding_side="left")
        self.llm = LLM(
            model=str(path),
            tokenizer=str(path),
            dtype=dtype,
            trust_remote_code=mcfg.trust_remote_code,
            gpu_memory_utilization=GPU_MEMORY_SHARE,
            seed=0,
        )

    def generate(self, prompts: Sequence[str | Sequence[dict]], settings: dict) -> list[list[Completion]]:
        """Like HFBackend.generate: a prompt is a user message, or chat messages ending in a user turn."""
        from vllm import SamplingParams

        temperature = float(settings["temperature"])
        params = SamplingParams(
            n=int(settings["samples"]),
            temperature=temperature,
            max_tokens=int(settings["max_new_tokens"]),
            seed=int(settings.get("seed", 0)),
        )
        requests = [{"prompt_token_ids": encode_prompt(self.tokenizer, chat)} for chat in as_chats(prompts)]
        outputs = self.llm.generate(requests, params, use_tqdm=False)
        return [
            [Completion(o.text, _generated(o.token_ids, self.tokenizer.eos_token_id)) for o in out.outputs]
            for out in outputs
        ]


def _generated(token_ids: Sequence[int], eos_id: int | None) -> int:
    ids = list(token_ids)
    return ids.index(eos_id) if eos_id is not None and eos_id in ids else len(ids)
