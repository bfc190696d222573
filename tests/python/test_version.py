"""One version number: ``_version.py``, ``DESCRIPTION`` and the installed metadata."""
import re
from importlib import metadata
from pathlib import Path

import torchlinreg as tl

ROOT = Path(__file__).resolve().parents[2]


def test_version_matches_description():
    text = (ROOT / "DESCRIPTION").read_text()
    version = re.search(r"^Version:\s*(\S+)\s*$", text, re.MULTILINE).group(1)
    assert tl.__version__ == version


def test_version_matches_installed_metadata():
    assert metadata.version("torchlinreg") == tl.__version__


def test_version_file_is_the_source():
    text = (ROOT / "python" / "torchlinreg" / "_version.py").read_text()
    assert re.search(r'__version__\s*=\s*"([^"]+)"', text).group(1) == tl.__version__
