import pytest
import torch

from calibprune.datamodules.sources.packing import IndexStream, PoolTooSmallError, cut_windows, pad_rows


def test_pad_rows_masks_the_padding():
    samples = pad_rows([[5, 6, 7], [8]], seqlen=4, pad_id=0)
    assert samples.input_ids.tolist() == [[5, 6, 7, 0], [8, 0, 0, 0]]
    assert samples.attention_mask.tolist() == [[1, 1, 1, 0], [1, 0, 0, 0]]
    with pytest.raises(ValueError, match="holds 5 tokens"):
        pad_rows([[1] * 5], seqlen=4, pad_id=0)


def test_index_stream_draws_without_replacement_until_the_pool_is_used_up():
    stream = IndexStream(5, torch.Generator().manual_seed(0))
    first, second = [stream.next() for _ in range(5)], [stream.next() for _ in range(5)]
    assert sorted(first) == sorted(second) == list(range(5))


def test_cut_windows_are_distinct_and_seeded():
    stream = list(range(1000))
    windows = cut_windows(stream, 9, 100, torch.Generator().manual_seed(1))
    starts = [w[0] for w in windows]
    assert all(len(w) == 100 and w == list(range(w[0], w[0] + 100)) for w in windows)
    assert len(set(starts)) == 9 and all(abs(a - b) >= 100 for a in starts for b in starts if a != b)
    assert cut_windows(stream, 9, 100, torch.Generator().manual_seed(1)) == windows
    assert cut_windows(stream, 9, 100, torch.Generator().manual_seed(2)) != windows


def test_cut_windows_overlap_only_when_asked():
    with pytest.raises(PoolTooSmallError, match=r"150 tokens, fewer than 3 x 100 = 300 .*--data.allow_overlap"):
        cut_windows(list(range(150)), 3, 100, torch.Generator().manual_seed(0))
    windows = cut_windows(list(range(150)), 3, 100, torch.Generator().manual_seed(0), allow_overlap=True)
    assert all(len(w) == 100 for w in windows)
    with pytest.raises(ValueError, match="fewer than one window"):
        cut_windows(list(range(50)), 1, 100, torch.Generator())
