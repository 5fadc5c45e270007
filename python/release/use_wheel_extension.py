"""Puts a built wheel's compiled extension in the source tree's package (python/telhook/), where
the editable install of .venv loads it from: the profile-guided build trains the very binary the
x86_64 wheel is built as, and `make bench` times it (not a `maturin develop` build, whose crates
get other symbol names, so that a profile of one does not apply to the other).

    python use_wheel_extension.py WHEEL
"""

from __future__ import annotations

import shutil
import sys
import zipfile
from pathlib import Path

EXTENSION = "telhook/_core.abi3.so"


def main() -> None:
    wheel = Path(sys.argv[1])
    target = Path(__file__).resolve().parent.parent / EXTENSION
    with zipfile.ZipFile(wheel) as archive, archive.open(EXTENSION) as source:
        # A new file, not written over the old: a process that has the old one loaded keeps it.
        partial = target.with_suffix(".partial")
        with open(partial, "wb") as out:
            shutil.copyfileobj(source, out)
    partial.chmod(0o755)
    partial.replace(target)
    print(f"use_wheel_extension: {target} from {wheel.name}")


if __name__ == "__main__":
    main()
