"""inputs/rows.py: the seeded validation split (torch's permutation, by hand), each epoch's
order, and the hash split (SplitMix64 in plain Python integers)."""
import numpy as np
import pytest
import torch

from torchlinreg.inputs.rows import epoch_order, hash_split, skip_permutation, split_rows


def generator(seed=11):
    return torch.Generator().manual_seed(seed)


def test_the_split_holds_out_the_floor_of_the_fraction_from_a_seeded_permutation():
    train, valid = split_rows(103, 0.25, generator())
    order = torch.randperm(103, generator=generator(), dtype=torch.int32).long()
    assert len(valid) == 25  # floor(25.75)
    assert valid.tolist() == sorted(order[:25].tolist())
    assert train.tolist() == sorted(order[25:].tolist())
    assert train.dtype == valid.dtype == torch.int64


def test_without_validation_every_row_trains_and_the_generator_moves_as_with_it():
    plain, with_validation = generator(), generator()
    train, valid = split_rows(50, 0.0, plain)
    split_rows(50, 0.3, with_validation)
    assert train.tolist() == list(range(50)) and valid.numel() == 0
    assert torch.equal(plain.get_state(), with_validation.get_state())


def test_a_large_split_is_the_sorted_parts_of_the_permutation():
    train, valid = split_rows(100_003, 0.2, generator(3))
    order = torch.randperm(100_003, generator=generator(3))
    assert torch.equal(valid, order[:20_000].sort().values)
    assert torch.equal(train, order[20_000:].sort().values)


def test_int32_draws_the_permutation_int64_does():
    """split_rows draws in int32 to halve the memory; the rows are the same."""
    assert torch.equal(torch.randperm(1000, generator=generator(), dtype=torch.int32).long(),
                       torch.randperm(1000, generator=generator()))


def test_an_epoch_is_in_order_or_a_seeded_permutation():
    assert epoch_order(6, False, generator()).tolist() == list(range(6))
    assert torch.equal(epoch_order(6, True, generator()), torch.randperm(6, generator=generator()))


def splitmix64(key, seed):
    mask = (1 << 64) - 1
    z = (key + 0x9E3779B97F4A7C15 * (seed + 1)) & mask
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
    return (z ^ (z >> 31)) >> 11


@pytest.mark.parametrize("seed", [0, 7, 2 ** 63 - 1])
def test_the_hash_split_is_splitmix64_of_each_key(seed):
    keys = [0, 1, 2, 3, 12345, 2 ** 40 + 17, 2 ** 64 - 1]
    expected = [splitmix64(key, seed) * 2.0 ** -53 < 0.3 for key in keys]
    assert hash_split(np.array(keys, dtype=np.uint64), 0.3, seed).tolist() == expected


def test_a_rows_part_depends_only_on_its_key_and_about_the_fraction_is_held_out():
    keys = np.arange(200_000, dtype=np.uint64)
    mask = hash_split(keys, 0.2, 5)
    # binomial(200000, 0.2): sd 179; 5 sd either way
    assert abs(int(mask.sum()) - 40_000) < 5 * 179
    some = keys[::7][::-1]  # another order, another process's share
    assert np.array_equal(hash_split(some, 0.2, 5), mask[::7][::-1])
    assert not np.array_equal(hash_split(keys, 0.2, 6), mask)
    assert not hash_split(keys, 0.0, 5).any() and hash_split(keys, 1.0, 5).all()


@pytest.mark.parametrize("n_rows", [0, 1, 2, 3, 1000, 1_000_003])
def test_skipping_the_permutation_leaves_the_generator_as_drawing_it(n_rows):
    drawn, skipped = (torch.Generator().manual_seed(7) for _ in range(2))
    torch.randperm(n_rows, generator=drawn, dtype=torch.int32)
    skip_permutation(n_rows, skipped)
    assert torch.equal(drawn.get_state(), skipped.get_state())
