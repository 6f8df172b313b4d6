"""One version number, and locks that keep test tooling out of production installs."""

import importlib.metadata
import re
import tomllib

import yaml

from apiusers import __version__

from .live import ROOT

DEV_ONLY = {"pytest", "pytest-django", "ruff", "selenium", "factory-boy", "faker"}


def pins(name: str) -> dict[str, str]:
    lines = (ROOT / name).read_text().splitlines()
    pairs = [line.split("==") for line in lines if line and not line.startswith("#")]
    return {normal(package): version for package, version in pairs}


def normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_the_schema_healthz_and_the_package_share_the_version(client):
    schema = yaml.safe_load((ROOT / "schema" / "openapi.yaml").read_text())

    assert schema["info"]["version"] == __version__
    assert client.get("/healthz").json()["version"] == __version__
    assert importlib.metadata.version("probely-apiusers") == __version__


def test_the_run_time_lock_pins_the_dependencies_and_no_test_tooling():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    run, dev = pins("requirements.lock"), pins("requirements-dev.lock")

    for requirement in project["dependencies"]:
        name, version = re.sub(r"\[.*\]", "", requirement).split("==")
        assert run[normal(name)] == version
    for requirement in project["optional-dependencies"]["dev"]:
        name, version = requirement.split("==")
        assert dev[normal(name)] == version
    assert not run.keys() & dev.keys()
    assert not run.keys() & DEV_ONLY
