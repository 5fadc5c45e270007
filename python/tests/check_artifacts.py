"""Checks the built wheels and sdist before anyone installs them (run by `make wheels`).

Each wheel's platform tag is what `auditwheel show` derives from the symbols it links (not
just its file name); the metadata is what PyPI will show (`twine check --strict`), with the
README as long description, Project-URLs, classifiers and no undeclared runtime dependency.
"""

from __future__ import annotations

import subprocess
import sys
import tarfile
import tempfile
import zipfile
from email.parser import Parser
from pathlib import Path

MUSL_LOADER = Path("/lib/ld-musl-x86_64.so.1")  # Debian's musl package (make wheels installs it)
WHEEL_TAGS = {
    "manylinux_2_17_x86_64": "x86_64",
    "manylinux_2_17_aarch64": "aarch64",
    "musllinux_1_2_x86_64": "x86_64",
}


def run(*args: str) -> str:
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout


README = Path(__file__).resolve().parents[1] / "README.md"


def check_metadata(text: str, where: str) -> None:
    metadata = Parser().parsestr(text)
    classifiers = metadata.get_all("Classifier") or []
    for classifier in ("Framework :: Django", "Typing :: Typed", "Programming Language :: Python :: 3.9"):
        assert classifier in classifiers, f"{where}: classifier {classifier!r} missing"
    urls = metadata.get_all("Project-URL") or []
    assert any(url.startswith("Repository, ") for url in urls), f"{where}: no Repository URL"
    assert metadata["Requires-Python"] == ">=3.9", f"{where}: Requires-Python"
    assert metadata["License-Expression"] == "MIT OR Apache-2.0", f"{where}: License-Expression"
    # Runtime dependencies: none (extras such as django are optional).
    required = [r for r in metadata.get_all("Requires-Dist") or [] if "extra ==" not in r]
    assert required == [], f"{where}: undeclared-by-design runtime dependencies {required}"
    body = metadata.get_payload()
    assert isinstance(body, str) and body.strip() == README.read_text("utf-8").strip(), (
        f"{where}: the long description is not python/README.md"
    )
    assert metadata["Description-Content-Type"].startswith("text/markdown"), f"{where}: README content type"


def check_musl_links(extension: bytes) -> None:
    """No musl Python can be had here, but the real musl loader can load the extension: every
    libc symbol must resolve, leaving only the CPython API (which the interpreter supplies)."""
    assert MUSL_LOADER.exists(), f"{MUSL_LOADER} missing (apt-get install musl)"
    with tempfile.TemporaryDirectory() as folder:
        library = Path(folder) / "_core.abi3.so"
        library.write_bytes(extension)
        listed = subprocess.run([str(MUSL_LOADER), "--list", str(library)], capture_output=True, text=True)
    lines = (listed.stdout + listed.stderr).splitlines()
    assert any(line.split()[:3] == ["libc.musl-x86_64.so.1", "=>", str(MUSL_LOADER)] for line in lines), lines
    missing = [line.split(": ")[1] for line in lines if line.endswith("symbol not found")]
    assert missing and all(symbol.startswith(("Py", "_Py")) for symbol in missing), missing


def main(folder: Path) -> None:
    wheels = sorted(folder.glob("*.whl"))
    sdists = sorted(folder.glob("*.tar.gz"))
    assert len(wheels) == len(WHEEL_TAGS) and len(sdists) == 1, [p.name for p in wheels + sdists]
    for tag, arch in WHEEL_TAGS.items():
        matching = [w for w in wheels if tag in w.name]
        assert len(matching) == 1, f"no single wheel tagged {tag}: {[w.name for w in wheels]}"
        wheel = matching[0]
        shown = " ".join(run(sys.executable, "-m", "auditwheel", "show", str(wheel)).split())
        assert f'consistent with the following platform tag: "{tag}"' in shown, shown
        with zipfile.ZipFile(wheel) as archive:
            names = archive.namelist()
            for required in ("telhook/py.typed", "telhook/_core.pyi", "telhook/__init__.py"):
                assert required in names, f"{wheel.name}: {required} missing"
            extension = next(n for n in names if n.startswith("telhook/_core") and n.endswith(".so"))
            machine = archive.read(extension)[18:20]
            assert machine == {"x86_64": b"\x3e\x00", "aarch64": b"\xb7\x00"}[arch], f"{wheel.name}: ELF machine"
            metadata = next(n for n in names if n.endswith(".dist-info/METADATA"))
            check_metadata(archive.read(metadata).decode(), wheel.name)
            assert any(n.endswith("licenses/LICENSE-APACHE") for n in names), f"{wheel.name}: license files"
            if tag.startswith("musllinux"):
                check_musl_links(archive.read(extension))
        print(f"{wheel.name}: {tag}")
    with tarfile.open(sdists[0]) as sdist:
        names = sdist.getnames()
        pkg_info = next(n for n in names if n.count("/") == 1 and n.endswith("/PKG-INFO"))
        member = sdist.extractfile(pkg_info)
        assert member is not None
        check_metadata(member.read().decode(), sdists[0].name)
        for required in ("core/src/lib.rs", "LICENSE-MIT", "LICENSE-APACHE", "telhook/_core.pyi"):
            assert any(n.endswith(required) for n in names), f"sdist: {required} missing"
    print(run(sys.executable, "-m", "twine", "check", "--strict", *map(str, wheels + sdists)).strip())


if __name__ == "__main__":
    main(Path(sys.argv[1]))
