#!/usr/bin/env python3
"""Set up everything Fireplay needs on this machine, then run the app or the test suite.

    ./packaging/dev.py run [fireplay options]   # set up, then launch on the built-in engine
    ./packaging/dev.py test [pytest options]    # set up, lint, check imports, run all tests

Set-up is idempotent and quick when nothing changed: a virtual environment in ``.venv`` with the
project installed in editable mode, the engine's weight packages, and (on Debian/Ubuntu, as root)
the system libraries Qt needs. Only the standard library is used here.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
PYTHON = VENV / "bin" / "python"
STAMP = VENV / ".fireplay-installed"
NODEPS = ROOT / "packaging" / "engine-nodeps.txt"

# Debian packages: Qt's shared-library needs (offscreen too), the X11 platform plugin's, and the
# tools the engine's tests use to make speech.
APT_QT = ["libegl1", "libgl1", "libxkbcommon0", "libfontconfig1", "libdbus-1-3", "libglib2.0-0"]
APT_X11 = [
    "libxkbcommon-x11-0",
    "libxcb-cursor0",
    "libxcb-icccm4",
    "libxcb-keysyms1",
    "libxcb-image0",
    "libxcb-render-util0",
    "libxcb-shape0",
    "libxcb-xinerama0",
    "libxcb-randr0",
    "libx11-xcb1",
]
APT_TEST = ["espeak-ng"]


def say(message: str) -> None:
    print(f"[fireplay] {message}", flush=True)


def run(*command: str | Path, env: dict[str, str] | None = None) -> None:
    subprocess.run([str(c) for c in command], check=True, cwd=ROOT, env=env)


def missing_debian_packages(names: list[str]) -> list[str]:
    if not shutil.which("dpkg-query"):
        return []
    missing = []
    for name in names:
        status = subprocess.run(
            ["dpkg-query", "-W", "-f=${Status}", name], capture_output=True, text=True
        ).stdout
        if "install ok installed" not in status:
            missing.append(name)
    return missing


def ensure_debian_packages(names: list[str]) -> None:
    missing = missing_debian_packages(names)
    if not missing:
        return
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        say(
            "missing system packages (install them with your package manager): " + " ".join(missing)
        )
        return
    say("installing system packages: " + " ".join(missing))
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    run("apt-get", "update", "-qq", env=env)
    run("apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing, env=env)


def ensure_venv() -> None:
    if PYTHON.exists():
        return
    say(f"creating {VENV}")
    try:
        venv.create(VENV, with_pip=True)
    except (subprocess.CalledProcessError, OSError):
        # Debian's Python ships venv without ensurepip until python3-venv is installed.
        shutil.rmtree(VENV, ignore_errors=True)
        ensure_debian_packages([f"python3.{sys.version_info.minor}-venv"])
        venv.create(VENV, with_pip=True)


def llama_cmake_args() -> str:
    # One definition, shared with the engine's own install hint; that module is stdlib-only.
    sys.path.insert(0, str(ROOT))
    try:
        from app.engine.process import LLAMA_CMAKE_ARGS
    finally:
        sys.path.pop(0)
    return LLAMA_CMAKE_ARGS


def install_fingerprint() -> str:
    digest = hashlib.sha256()
    for path in (ROOT / "pyproject.toml", NODEPS, Path(__file__)):
        if path.exists():
            digest.update(path.read_bytes())
    return digest.hexdigest()


def ensure_python_packages() -> None:
    fingerprint = install_fingerprint()
    if STAMP.exists() and STAMP.read_text() == fingerprint:
        return
    say("installing Python packages (the first time this builds llama.cpp: several minutes)")
    env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    # llama.cpp built without the parts the engine does not use: about half the build time.
    env.setdefault("CMAKE_ARGS", llama_cmake_args())
    env.setdefault("CMAKE_BUILD_PARALLEL_LEVEL", str(os.cpu_count() or 2))
    run(PYTHON, "-m", "pip", "install", "--quiet", "--upgrade", "pip", env=env)
    run(PYTHON, "-m", "pip", "install", "--quiet", "-e", ".[dev,engine]", env=env)
    if NODEPS.exists() and NODEPS.read_text().strip():
        run(PYTHON, "-m", "pip", "install", "--quiet", "--no-deps", "-r", NODEPS, env=env)
    STAMP.write_text(fingerprint)


def compile_bytecode() -> None:
    # pip compiles an installed package's bytecode; an editable install gets it only when Python
    # may write it at import time, which PYTHONDONTWRITEBYTECODE forbids. Without it every launch
    # would compile Fireplay's own modules again (about 40 ms of start-up).
    run(PYTHON, "-m", "compileall", "-q", ROOT / "app", ROOT / "widgets")


def setup(*, display: bool) -> None:
    if sys.version_info < (3, 11):  # noqa: UP036 - this script may be started by an older python3
        sys.exit("Fireplay needs Python 3.11 or newer")
    ensure_debian_packages(APT_QT + APT_TEST + (APT_X11 if display else []))
    ensure_venv()
    ensure_python_packages()
    compile_bytecode()


def command_run(args: list[str]) -> int:
    has_display = bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    setup(display=has_display)
    if sys.platform.startswith("linux") and not has_display and "QT_QPA_PLATFORM" not in os.environ:
        say("no display found: set QT_QPA_PLATFORM=offscreen to run headless (with --screenshot)")
    os.execv(PYTHON, [str(PYTHON), "-m", "app", *args])


def command_test(args: list[str]) -> int:
    setup(display=False)
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    bin_dir = VENV / "bin"
    checks = [
        ("ruff", [bin_dir / "ruff", "check", "."]),
        ("ruff format", [bin_dir / "ruff", "format", "--check", "."]),
        ("import contracts", [bin_dir / "lint-imports"]),
        ("mypy", [bin_dir / "mypy"]),
    ]
    failed = []
    for name, command in checks:
        say(f"checking: {name}")
        if subprocess.run([str(c) for c in command], cwd=ROOT, env=env).returncode != 0:
            failed.append(name)
    if failed:
        say("failed checks: " + ", ".join(failed))
    # The test run comes last, so its summary line is the last line printed.
    say("running the test suite")
    code = subprocess.run([str(PYTHON), "-m", "pytest", *args], cwd=ROOT, env=env).returncode
    if code == 5:
        say("pytest collected no tests: that is a failure")
        code = 1
    return code or (1 if failed else 0)


def main() -> int:
    commands = {"run": command_run, "test": command_test}
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        print(__doc__)
        return 2
    return commands[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main())
