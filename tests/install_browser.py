"""Make sure what the tests need from the system is there: headless Chromium for the browser tests
(pytest -m browser) and Java 17 or newer for the Spark engine's tests (pytest -m spark).

Run before pytest: ``.venv/bin/python tests/install_browser.py``.
- Both already installed: prints their paths and exits 0.
- Missing and running as root on Debian/Ubuntu: installs them with apt-get (``chromium``,
  ``chromium-driver``, ``openjdk-17-jre-headless``; printing each command it runs) and exits 0 when
  that worked.
- Missing otherwise: prints the command to run and exits 1.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
PACKAGES = ("chromium", "chromium-driver")
JAVA_PACKAGES = ("openjdk-17-jre-headless",)
JAVA_MIN = 17  # PySpark 4


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


def find_java() -> str | None:
    """Path of a Java runtime of version 17 or newer ($JAVA_HOME's, else the one on PATH)."""
    home = os.environ.get("JAVA_HOME")
    java = os.path.join(home, "bin", "java") if home else shutil.which("java")
    if not java or not os.path.exists(java):
        return None
    try:
        shown = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=60).stderr
    except (OSError, subprocess.SubprocessError):
        return None
    version = re.search(r'version "(\d+)(?:\.(\d+))?', shown)
    if not version:
        return None
    major = int(version.group(1)) if version.group(1) != "1" else int(version.group(2) or 0)
    return java if major >= JAVA_MIN else None


def _run(cmd: list[str]) -> None:
    print("+ " + " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True, env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})


def main() -> int:
    browser, java = find_browser(), find_java()
    if browser and java:
        print(f"chromium found: {browser}\njava found: {java}")
        return 0
    packages = ([] if browser else list(PACKAGES)) + ([] if java else list(JAVA_PACKAGES))
    apt = shutil.which("apt-get")
    if apt and hasattr(os, "geteuid") and os.geteuid() == 0:
        print(f"missing: {', '.join(packages)}; installing with apt-get (Debian packages)")
        try:
            _run([apt, "update"])
            _run([apt, "install", "-y", "--no-install-recommends", *packages])
        except subprocess.CalledProcessError as exc:
            print(f"install_browser: apt-get failed (exit {exc.returncode}); install {' '.join(packages)} by hand",
                  file=sys.stderr)
            return 1
        browser, java = find_browser(), find_java()
        if browser and java:
            print(f"chromium: {browser}\njava: {java}")
            return 0
        print("install_browser: apt-get finished but chromium or java 17 is still not on PATH", file=sys.stderr)
        return 1
    how = f"sudo apt-get install -y {' '.join(packages)}" if apt else "install them with your package manager"
    print(
        f"install_browser: {', '.join(packages)} missing and this script can only install them as root "
        f"with apt-get. Run: {how}  (or set CX_CHROMIUM to a Chromium/Chrome binary, JAVA_HOME to a Java 17+), "
        "then re-run the tests.",
        file=sys.stderr,
    )
    return 1


if __name__ == "__main__":
    sys.exit(main())
