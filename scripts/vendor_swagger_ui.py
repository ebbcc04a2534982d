"""Copy Swagger UI, the viewer of the API documentation at /schema, into static/vendor/swagger-ui/.

The site serves the viewer itself (no CDN: the page works on a network that blocks them and tells
no third party who reads it). The files come unchanged from the npm package ``swagger-ui-dist``
at the version below, fetched with ``npm pack`` into a temporary folder; the package's integrity
is checked against the registry's before anything is copied. Run it from the project folder:

    python scripts/vendor_swagger_ui.py            # the pinned version
    python scripts/vendor_swagger_ui.py 5.37.0     # another version: then update VERSION below

It writes static/vendor/swagger-ui/README.md with the version, the integrity and each file's SHA-256.
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

PACKAGE = "swagger-ui-dist"
VERSION = "5.36.0"
#: What the page needs: the bundle (Swagger UI and React), its style sheet, and the licence.
FILES = ("swagger-ui-bundle.js", "swagger-ui.css", "LICENSE", "NOTICE")
TARGET = Path(__file__).resolve().parents[1] / "static" / "vendor" / "swagger-ui"


def _npm(*args: str, cwd: Path) -> str:
    return subprocess.run(["npm", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


def vendor(version: str) -> None:
    """Fetch ``swagger-ui-dist@version``, check it, and copy FILES and a README into TARGET."""
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        packed = json.loads(_npm("pack", f"{PACKAGE}@{version}", "--json", cwd=work))[0]
        tarball = work / packed["filename"]
        algorithm, expected = packed["integrity"].split("-", 1)
        actual = base64.b64encode(hashlib.new(algorithm, tarball.read_bytes()).digest()).decode()
        if actual != expected:
            sys.exit(f"{tarball.name}: integrity {actual} is not the registry's {expected}")
        with tarfile.open(tarball) as archive:
            archive.extractall(work, filter="data")
        TARGET.mkdir(parents=True, exist_ok=True)
        sums = []
        for name in FILES:
            shutil.copyfile(work / "package" / name, TARGET / name)
            sums.append(f"| `{name}` | `{hashlib.sha256((TARGET / name).read_bytes()).hexdigest()}` |")
    (TARGET / "README.md").write_text(
        f"""# Swagger UI {version}

The viewer of the API documentation at `/schema` (see `observatory/apidocs.py`). The files are
copied unchanged from the npm package [{PACKAGE}](https://www.npmjs.com/package/{PACKAGE}),
version {version} (integrity `{packed["integrity"]}`), by `scripts/vendor_swagger_ui.py`; run it
again to update them.

Licence: Apache-2.0 (`LICENSE`, `NOTICE`), © SmartBear Software. Source:
https://github.com/swagger-api/swagger-ui.

| file | SHA-256 |
| --- | --- |
"""
        + "\n".join(sums)
        + "\n"
    )
    print(f"{PACKAGE} {version} copied into {TARGET}")


if __name__ == "__main__":
    vendor(sys.argv[1] if len(sys.argv) > 1 else VERSION)
