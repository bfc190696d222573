"""persist/format.py: the .npz of a fit is read only as far as its description allows."""
import io
import json
import zipfile

import numpy as np
import pytest
import torch

import torchlinreg as tl
from torchlinreg.persist import format as file_format


def test_encode_and_decode_round_trip_nested_values():
    value = {"a": [1, 2.5, None, "x"], "b": (torch.arange(3.0), np.eye(2)), "c": {"d": True}}
    arrays = {}
    back = file_format.decode(json.loads(json.dumps(file_format.encode(value, arrays))), arrays)
    assert back["a"] == value["a"] and back["c"] == value["c"]
    assert torch.equal(back["b"][0], value["b"][0]) and np.array_equal(back["b"][1], value["b"][1])


def test_decode_refuses_a_reference_to_a_member_the_file_lacks():
    with pytest.raises(tl.InputError, match="does not have"):
        file_format.decode({"__tensor__": "blob/9"}, {})


def _write(path, meta, **arrays):
    file_format.write(path, arrays, meta)


META = {"format": file_format.FORMAT, "version": file_format.FORMAT_VERSION}


@pytest.mark.parametrize("arrays, allowed, message", [
    ({"other": np.zeros(3)}, {}, "member 'other' that a torchlinreg fit does not have"),
    ({"weight": np.zeros(1000)}, {"weight": 6}, "holds 1000 values, more than this fit can have"),
    ({"weight": np.array([1 + 2j])}, {"weight": 6}, "has type complex128"),
])
def test_read_refuses_unexpected_oversized_or_odd_members(tmp_path, arrays, allowed, message):
    path = tmp_path / "f.npz"
    _write(path, META, **arrays)
    with pytest.raises(tl.InputError, match=message):
        file_format.read(path, lambda meta: allowed.get)


def test_a_huge_declared_member_is_refused_before_it_is_read(tmp_path):
    """A small file whose member claims 1e9 values is refused from its header alone."""
    path = tmp_path / "bomb.npz"
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False,
                                                  "shape": (10 ** 9,)})
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("meta.npy", _npy(np.array(json.dumps(META))))
        archive.writestr("weight.npy", b"\x93NUMPY" + header.getvalue()[6:] + b"\0" * 64)
    with pytest.raises(tl.InputError, match="holds 1000000000 values"):
        file_format.read(path, lambda meta: {"weight": 6}.get)


def test_a_truncated_file_is_an_input_error(tmp_path):
    path = tmp_path / "f.npz"
    _write(path, META, weight=np.zeros(6))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(tl.InputError):
        file_format.read(path, lambda meta: {"weight": 6}.get)


def test_a_newer_format_version_says_to_update(tmp_path):
    path = tmp_path / "f.npz"
    _write(path, {**META, "version": file_format.FORMAT_VERSION + 1})
    with pytest.raises(tl.InputError, match="update torchlinreg"):
        file_format.read(path, lambda meta: {}.get)


def _npy(array):
    out = io.BytesIO()
    np.save(out, array)
    return out.getvalue()
