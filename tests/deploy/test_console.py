"""The `content-moderation` console script, installed from pyproject.toml into a throwaway venv: each command's --help."""

from __future__ import annotations

import importlib
import os
import re
import subprocess
import sys
import time
import tomllib
from collections.abc import Mapping
from pathlib import Path

import pytest

from deploy.console import COMMANDS, Command, main
from local_runtime.settings import documented_settings
from tests.conftest import ROOT

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
# Nothing that takes time to import or starts something may load for --help (-X importtime lists every import).
HEAVY_MODULES = {"moto", "chalice", "boto3", "botocore", "app", "flask", "werkzeug", "websockets", "sklearn"}
# What each command's help must name: its options and the environment variables it reads.
EXPECTED_IN_HELP = {
    "run": [setting.name for setting in documented_settings()],
    "deploy": ["--stage", "--profile", "--region", "EVENT_BUS_NAME", "WEBHOOK_URL", "SENDER_EMAIL", "AWS_REGION"],
    "destroy": ["--stage", "--profile", "--region", "--delete-data", "AWS_PROFILE"],
    "bench": ["--quick", "--only", "--output", "environment variables"],
    "advance-clock": ["seconds", "--endpoint-url", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PORT"],
}


@pytest.fixture(scope="module")
def console_script(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`pip install --no-deps -e .` (as `make` does) into a new venv that borrows this one's packages; its script.

    Offline: pip and setuptools come from the test venv through a .pth file, so nothing is downloaded
    and the shared venv is left as it was.
    """
    venv = tmp_path_factory.mktemp("console") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    site_packages = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    ours = next(path for path in sys.path if path.endswith("site-packages") and Path(path, "pip").is_dir())
    Path(site_packages, "test-venv-packages.pth").write_text(ours + "\n")
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", "--no-build-isolation", "-e", "."],
        cwd=ROOT,
        env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
        check=True,
        timeout=300,
    )
    script = venv / "bin" / "content-moderation"
    assert script.exists(), "pip installed no content-moderation script: check [project.scripts]"
    return script


def run_script(script: Path, *arguments: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    environment: Mapping[str, str] = {**os.environ, "PYTHONPROFILEIMPORTTIME": "1"}
    return subprocess.run(
        [str(script), *arguments], cwd=cwd, env=environment, capture_output=True, text=True, timeout=60
    )


def imported_packages(stderr: str) -> set[str]:
    """The top-level packages a `-X importtime` run imported."""
    return {line.rpartition("|")[2].strip().split(".")[0] for line in stderr.splitlines() if line.startswith("import")}


def test_pyproject_names_the_project_and_points_its_script_at_the_dispatcher() -> None:
    project = PYPROJECT["project"]
    assert project["name"] == "content-moderation" and project["version"]
    assert project["requires-python"] == ">=3.11"
    module, _, function = project["scripts"]["content-moderation"].partition(":")
    entry_point = getattr(importlib.import_module(module), function)
    assert entry_point is main and callable(entry_point)
    assert not module.startswith("chalicelib")  # chalicelib ships to Lambda


def test_the_dependencies_are_pinned_as_in_requirements_dev_and_the_lambda_bundle_stays_empty() -> None:
    def name(requirement: str) -> str:
        return re.split(r"[\[=<>~]", requirement)[0].lower()

    pins = {
        name(line): line
        for line in (ROOT / "requirements-dev.txt").read_text().splitlines()
        if "==" in line and not line.startswith("#")
    }
    for requirement in PYPROJECT["project"]["dependencies"]:
        assert pins.get(name(requirement)) == requirement, (
            f"{requirement}: requirements-dev.txt has {pins.get(name(requirement))}"
        )
    bundle = [line for line in (ROOT / "requirements.txt").read_text().splitlines() if not line.startswith("#")]
    assert not any(line.strip() for line in bundle)


def test_the_script_lists_its_commands(console_script: Path, tmp_path: Path) -> None:
    result = run_script(console_script, "--help", cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: content-moderation")
    for name in COMMANDS:
        assert f"    {name}" in result.stdout
    assert imported_packages(result.stderr).isdisjoint(HEAVY_MODULES)


@pytest.mark.parametrize("command", list(COMMANDS))
def test_each_command_help_lists_its_settings_and_starts_nothing(
    console_script: Path, tmp_path: Path, command: str
) -> None:
    started = time.monotonic()
    result = run_script(console_script, command, "--help", cwd=tmp_path)  # from elsewhere than the checkout

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"usage: content-moderation {command} ")
    for expected in EXPECTED_IN_HELP[command]:
        assert expected in result.stdout, f"{expected} missing from `content-moderation {command} --help`"
    assert imported_packages(result.stderr).isdisjoint(HEAVY_MODULES)
    assert "ready" not in result.stdout.splitlines()
    assert not list(tmp_path.iterdir())  # wrote nothing (no BENCHMARKS.md, no outbox)
    assert time.monotonic() - started < 10  # a few tenths of a second alone; generous on a loaded machine


def test_no_command_or_an_unknown_one_exits_2_naming_the_commands(console_script: Path, tmp_path: Path) -> None:
    for arguments in ((), ("serve",)):
        result = run_script(console_script, *arguments, cwd=tmp_path)
        assert result.returncode == 2
        assert "usage: content-moderation" in result.stderr and "Traceback" not in result.stderr
    assert "advance-clock" in result.stderr


def test_python_m_deploy_console_is_the_same_dispatcher() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "deploy.console", "deploy", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0 and result.stdout.startswith("usage: content-moderation deploy ")


def test_the_command_passes_its_arguments_through(monkeypatch: pytest.MonkeyPatch) -> None:
    """The dispatcher hands everything after the command's name to that command's own parser."""
    received: list[list[str]] = []

    def record(arguments: list[str]) -> int:
        received.append(arguments)
        return 7

    monkeypatch.setitem(COMMANDS, "deploy", Command("records its arguments", record))

    assert main(["deploy", "--stage", "prod", "--region", "eu-west-1"]) == 7
    assert received == [["--stage", "prod", "--region", "eu-west-1"]]


def test_the_make_targets_install_the_project_then_call_the_command() -> None:
    """`make -n -B` prints what each target would run (running nothing): the install, then the console script."""
    result = subprocess.run(
        ["make", "-n", "-B", "run", "deploy", "destroy", "bench", "STAGE=prod", "DELETE_DATA=yes"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    lines = [line.strip() for line in result.stdout.splitlines()]
    install = lines.index(".venv/bin/python -m pip install --quiet --no-compile --no-deps --no-build-isolation -e .")
    assert lines.index(".venv/bin/python -m pip install --quiet --no-compile -r requirements-dev.txt") < install
    commands = [line for line in lines if line.startswith(".venv/bin/content-moderation")]
    assert commands == [
        ".venv/bin/content-moderation run",
        ".venv/bin/content-moderation deploy --stage prod --access-log-retention-days 30",
        ".venv/bin/content-moderation destroy --stage prod --delete-data",
        ".venv/bin/content-moderation bench",
    ]
    assert all(lines.index(command) > install for command in commands)
    assert not [line for line in lines if re.search(r"-m (local_runtime|deploy|bench)\b", line)]
    stamp_rule = next(line for line in (ROOT / "Makefile").read_text().splitlines() if line.startswith("$(STAMP):"))
    assert "pyproject.toml" in stamp_rule  # a new dependency or script reinstalls
