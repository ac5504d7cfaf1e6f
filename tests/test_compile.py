"""torch.compile of our encoders: same outputs as eager, no recompilation per length.

Variable lengths are the normal case in speech, so the encoders are compiled
with dynamic shapes (``dynamic=True``): one graph serves every batch size
from 2 and every length, and one more graph batch size 1 (PyTorch specialises
sizes 0 and 1), so an epoch compiles at most twice. The test counts the graphs
Dynamo builds.
"""

import pytest
import torch
from torch._dynamo.utils import counters

from summarymixing.encoders import ConformerEncoder

SHAPES = [(2, 20), (2, 33), (3, 57), (1, 8), (1, 15), (4, 11)]


@pytest.mark.slow
@pytest.mark.parametrize("attention_type", ["SummaryMixing", "SDPA"])
def test_compiled_encoder_matches_eager_without_recompiling(attention_type):
    torch.manual_seed(0)
    torch._dynamo.reset()
    counters.clear()
    encoder = ConformerEncoder(
        2, 32, 64, 2, kernel_size=7, attention_type=attention_type
    )
    encoder.eval()
    compiled = torch.compile(encoder, dynamic=True)
    graphs = []
    for batch, frames in SHAPES:
        x = torch.randn(batch, frames, 32)
        lengths = torch.randint(frames // 2, frames + 1, (batch,))
        lengths[0] = frames
        mask = torch.arange(frames)[None] >= lengths[:, None]
        with torch.no_grad():
            expected = encoder(x, src_key_padding_mask=mask)[0]
            got = compiled(x, src_key_padding_mask=mask)[0]
        torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-4)
        graphs.append(counters["stats"]["unique_graphs"])
    first = graphs[0]
    assert first >= 1
    assert graphs[1:3] == [first, first]  # new lengths and batch sizes: no graph
    assert graphs[3:] == [2 * first] * 3  # batch size 1 once, then nothing new
