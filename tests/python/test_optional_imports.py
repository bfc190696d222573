"""Optional dependencies: a missing one is an ImportError that names the extra to install."""
import sys

import pytest

import torchlinreg as tl


def test_fit_files_without_pyarrow_names_the_files_extra(tmp_path, monkeypatch):
    path = tmp_path / "data.csv"
    path.write_text("y,x\n1,2\n3,4\n5,7\n")
    for name in [m for m in sys.modules if m == "pyarrow" or m.startswith("pyarrow.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "pyarrow", None)   # import pyarrow now raises ImportError
    with pytest.raises(ImportError, match=r"torchlinreg\[files\]") as caught:
        tl.fit_files(str(path), response="y")
    assert "install_torchlinreg(extras = \"files\")" in str(caught.value)
