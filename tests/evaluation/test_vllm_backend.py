"""The vllm backend refuses clearly, with the fix, where vllm or CUDA is missing."""

import importlib.util

import pytest
import torch

from trainpipe.errors import UserError
from trainpipe.evaluation.vllm_backend import _generated, check_available


@pytest.mark.skipif(
    importlib.util.find_spec("vllm") is not None and torch.cuda.is_available(), reason="vllm and CUDA are both present"
)
def test_missing_vllm_or_cuda_is_a_user_error():
    with pytest.raises(UserError, match="evaluate.backend=vllm needs .*set evaluate.backend=hf"):
        check_available()


def test_generated_token_count_stops_at_end_token():
    assert _generated([5, 6, 2, 9], 2) == 2
    assert _generated([5, 6], 2) == 2 and _generated([], None) == 0
