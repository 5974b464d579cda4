"""Make sure headless Chromium is available for the browser tests (pytest -m browser).

Run before pytest: ``.venv/bin/python tests/install_browser.py``.
- Chromium already installed: prints its path and exits 0.
- Missing and running as root on Debian/Ubuntu: installs it with apt-get (printing each
  command it runs) and exits 0 when that worked.
- Missing otherwise: prints the command to run and exits 1.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
PACKAGES = ("chromium", "chromium-driver")


def find_browser() -> str | None:
    """Path of a Chromium-family browser: $CX_CHROMIUM if set, else the first one on PATH."""
    explicit = os.environ.get("CX_CHROMIUM")
    if explicit:
        return explicit if shutil.which(explicit) or os.path.exists(explicit) else None
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


def _run(cmd: list[str]) -> None:
    print("+ " + " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True, env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})


def main() -> int:
    found = find_browser()
    if found:
        print(f"chromium found: {found}")
        return 0
    apt = shutil.which("apt-get")
    if apt and hasattr(os, "geteuid") and os.geteuid() == 0:
        print("chromium not found; installing it with apt-get (Debian package, no browser download by pip)")
        try:
            _run([apt, "update"])
            _run([apt, "install", "-y", "--no-install-recommends", *PACKAGES])
        except subprocess.CalledProcessError as exc:
            print(f"install_browser: apt-get failed (exit {exc.returncode}); install chromium by hand", file=sys.stderr)
            return 1
        found = find_browser()
        if found:
            print(f"chromium installed: {found}")
            return 0
        print("install_browser: apt-get finished but no chromium on PATH", file=sys.stderr)
        return 1
    how = "sudo apt-get install -y chromium" if apt else "install Chromium with your package manager"
    print(
        "install_browser: headless Chromium is missing and this script can only install it as root "
        f"with apt-get. Run: {how}  (or set CX_CHROMIUM to a Chromium/Chrome binary), then re-run the "
        "tests. Browser tests fail under CI=true and are skipped locally while it is missing.",
        file=sys.stderr,
    )
    return 1


if __name__ == "__main__":
    sys.exit(main())
