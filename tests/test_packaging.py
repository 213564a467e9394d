"""The install holds one import package, coroscope, mapped over the product card's
folders, and nothing of it answers to a generic name such as ``app``."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
SETUPTOOLS = PYPROJECT["tool"]["setuptools"]


def _package_folders() -> dict[str, Path]:
    """Every folder with an __init__.py below the mapped folders, by package name."""
    found = {}
    for package, folder in SETUPTOOLS["package-dir"].items():
        base = ROOT / folder
        for init in base.rglob("__init__.py"):
            relative = init.parent.relative_to(base)
            name = ".".join((package, *relative.parts))
            found[name] = init.parent
    return found


def test_every_package_folder_is_installed():
    listed = set(SETUPTOOLS["packages"])
    assert set(_package_folders()) <= listed
    assert {name.split(".")[0] for name in listed} == {"coroscope"}


def test_every_package_is_a_root_of_the_import_contracts():
    roots = set(PYPROJECT["tool"]["importlinter"]["root_packages"])
    top = {".".join(name.split(".")[:2]) for name in SETUPTOOLS["packages"] if "." in name}
    assert top == roots


def _python(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """This interpreter in another folder, with nothing of the checkout on its path."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, capture_output=True, text=True, timeout=60, env=env
    )


def _run(code: str, cwd: Path) -> subprocess.CompletedProcess:
    return _python("-c", code, cwd=cwd)


@pytest.mark.parametrize("name", ["app", "widgets", "demos", "resources"])
def test_no_generic_top_level_names_are_installed(name, tmp_path):
    out = _run(f"import {name}", tmp_path)
    assert out.returncode != 0
    assert f"No module named '{name}'" in out.stderr


def test_a_users_own_app_package_is_theirs(tmp_path):
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "__init__.py").write_text("GREETING = 'hello from the user'\n")
    out = _run(
        "import coroscope.control.controller\nfrom app import GREETING\nprint(GREETING)", tmp_path
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "hello from the user"


def test_python_dash_m_runs_a_demo_from_anywhere(tmp_path):
    out = _python("-m", "coroscope.demos.hello", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip()


def test_python_dash_m_coroscope_is_the_command_line(tmp_path):
    out = _python("-m", "coroscope", "list", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "countdown" in out.stdout


def test_a_script_in_a_project_with_app_and_widgets_packages_traces(tmp_path):
    for package, value in (("app", "'hi'"), ("widgets", "3")):
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text(f"VALUE = {value}\n")
    (tmp_path / "main.py").write_text(
        "import asyncio\n"
        "from app import VALUE as GREETING\n"
        "from widgets import VALUE as COUNT\n\n\n"
        "async def main():\n"
        "    await asyncio.sleep(0.1)\n"
        "    print(GREETING, COUNT)\n\n\n"
        "asyncio.run(main())\n"
    )
    out = _python("-m", "coroscope", "trace", "main.py", "-o", "t.json", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[0] == "hi 3"
    assert (tmp_path / "t.json").exists()
