"""The file format of a saved fit: one ``.npz`` file that loads without running code.

The numbers are arrays; everything else is one JSON document stored under
the key ``"meta"`` (a unicode array, not a pickle). Nested values (the
settings, the optimizer's state) are JSON with their tensors and arrays
moved into members ``blob/N`` (:func:`encode`, :func:`decode`).

:func:`write` replaces the target atomically, as SQLite does: the file is
written next to it under a temporary name, flushed to disk and renamed over
the target, so a failed save (a full disk, a size limit, Ctrl-C) leaves the
previous file whole. :func:`read` opens only the members it is told to
expect, checks each one's size and type before reading it, never unpickles,
and turns every failure into :class:`~torchlinreg.InputError`.
"""
import json
import os
import re
import tempfile
import zipfile

import numpy as np
import torch

from ..errors import InputError

FORMAT = "torchlinreg-fit"
FORMAT_VERSION = 1
# The JSON document of a fit is a few kB; one larger than this is not ours.
META_LIMIT = 64 << 20
_BLOB = re.compile(r"blob/\d+")


def encode(value, arrays):
    """JSON-ready ``value``; tensors and arrays go to ``arrays`` under a fresh key."""
    if isinstance(value, (torch.Tensor, np.ndarray)):
        key = f"blob/{len(arrays)}"
        if isinstance(value, torch.Tensor):
            arrays[key] = value.detach().cpu().numpy()
            return {"__tensor__": key}
        arrays[key] = value
        return {"__array__": key}
    if isinstance(value, dict):
        return {"__dict__": [[k, encode(v, arrays)] for k, v in value.items()]}
    if isinstance(value, tuple):
        return {"__tuple__": [encode(v, arrays) for v in value]}
    if isinstance(value, list):
        return [encode(v, arrays) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"cannot save a value of type {type(value).__name__}: {value!r}")


def decode(value, arrays, depth=0):
    """The value :func:`encode` stored, its tensors and arrays taken from ``arrays``."""
    if depth > 32:
        raise InputError("a saved value is nested deeper than torchlinreg writes.")
    if isinstance(value, list):
        return [decode(v, arrays, depth + 1) for v in value]
    if not isinstance(value, dict):
        return value
    if "__tensor__" in value:
        return torch.from_numpy(np.array(_blob(arrays, value["__tensor__"])))
    if "__array__" in value:
        return np.array(_blob(arrays, value["__array__"]))
    if "__tuple__" in value:
        return tuple(decode(v, arrays, depth + 1) for v in value["__tuple__"])
    if "__dict__" not in value or not isinstance(value["__dict__"], list):
        raise InputError("a saved value is not in the form torchlinreg writes.")
    return {k: decode(v, arrays, depth + 1) for k, v in value["__dict__"]}


def _blob(arrays, key):
    if not isinstance(key, str) or key not in arrays:
        raise InputError(f"the saved state refers to a member {key!r} the file does not have.")
    return arrays[key]


def write(path, arrays, meta):
    """Write ``arrays`` and the JSON ``meta`` to exactly ``path``, replacing it atomically."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    handle, temporary = tempfile.mkstemp(prefix=".torchlinreg-", suffix=".partial", dir=folder)
    try:
        with os.fdopen(handle, "wb") as out:
            np.savez_compressed(out, meta=np.array(json.dumps(meta)), **arrays)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise
    return path


def read(path, expected):
    """``(arrays, meta)`` of a file :func:`write` wrote.

    ``expected(meta)`` says, given the JSON document, which members may be
    there and how large each may be: a function of the member's name that
    returns the largest number of elements allowed, or None for a name that
    does not belong. A member that is not expected, too large, not a plain
    numeric or text array, or damaged is an :class:`InputError`.
    """
    where = os.fspath(path)
    try:
        with zipfile.ZipFile(where) as archive:
            members = {info.filename[:-4]: info for info in archive.infolist()
                       if info.filename.endswith(".npy")}
            if "meta" not in members:
                raise InputError(f"{where} is not a fit saved by torchlinreg (it has no 'meta').")
            meta = _read_meta(archive, members.pop("meta"), where)
            allowed = expected(meta)
            arrays = {}
            for name, info in members.items():
                limit = allowed(name)
                if limit is None:
                    raise InputError(f"{where} has a member {name!r} that a torchlinreg fit "
                                     "does not have; it was not written by torchlinreg.")
                arrays[name] = _read_member(archive, info, limit, where)
    except InputError:
        raise
    except FileNotFoundError:
        raise InputError(f"{where}: no such file.") from None
    except (OSError, EOFError, ValueError, KeyError, zipfile.BadZipFile, zipfile.LargeZipFile,
            RecursionError, MemoryError, UnicodeDecodeError) as error:
        raise InputError(f"{where} is not a readable torchlinreg fit ({type(error).__name__}: "
                         f"{error}).") from None
    except Exception as error:  # zlib.error and other decoder errors
        raise InputError(f"{where} is damaged ({type(error).__name__}: {error}).") from None
    return arrays, meta


def _read_meta(archive, info, where):
    if info.file_size > META_LIMIT:
        raise InputError(f"{where}: its 'meta' member is {info.file_size} bytes, more than a "
                         "torchlinreg fit writes.")
    value = _read_member(archive, info, META_LIMIT, where, text=True)
    meta = json.loads(str(value))
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise InputError(f"{where} is not a fit saved by torchlinreg.")
    if not isinstance(meta.get("version"), int) or meta["version"] > FORMAT_VERSION:
        raise InputError(f"{where} is a torchlinreg fit of format version "
                         f"{meta.get('version')!r}, newer than this torchlinreg reads "
                         f"({FORMAT_VERSION}); update torchlinreg.")
    return meta


def _read_member(archive, info, limit, where, text=False):
    """One ``.npy`` member, after checking its declared shape and type against ``limit``."""
    with archive.open(info) as stream:
        version = np.lib.format.read_magic(stream)
        header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                  else np.lib.format.read_array_header_2_0)
        shape, fortran, dtype = header(stream)
        count = int(np.prod(shape, dtype=np.int64))
        name = info.filename[:-4]
        kinds = "U" if text else "biufU"
        if dtype.hasobject or dtype.kind not in kinds:
            raise InputError(f"{where} is not a fit saved by torchlinreg: its member {name!r} "
                             f"has type {dtype}, which torchlinreg never writes.")
        if count > limit:
            raise InputError(f"{where}: member {name!r} holds {count} values, more than this "
                             f"fit can have ({limit}); the file is inconsistent.")
        data = stream.read(count * dtype.itemsize + 1)
        if len(data) != count * dtype.itemsize:
            raise InputError(f"{where}: member {name!r} is truncated or too long.")
    array = np.frombuffer(data, dtype=dtype)
    order = "F" if fortran else "C"
    return array.reshape(shape, order=order).copy()
