"""The conda environments pin the same versions as requirements.txt."""

from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent


def _requirements():
    pins = {}
    for line in (REPO / "requirements.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, version = line.split("==")
            pins[name.lower()] = version
    return pins


def test_every_requirement_is_pinned_exactly():
    lines = [line.split("#")[0].strip() for line in (REPO / "requirements.txt").read_text().splitlines()]
    requirements = [line for line in lines if line]
    assert requirements and all("==" in line for line in requirements)


def test_conda_envs_agree_with_requirements():
    pins = _requirements()
    envs = sorted((REPO / "envs").glob("*.yaml"))
    assert envs
    for env in envs:
        dependencies = yaml.safe_load(env.read_text())["dependencies"]
        pip = next(d["pip"] for d in dependencies if isinstance(d, dict))
        for entry in pip:
            name, version = entry.split("==")
            assert pins.get(name.lower()) == version, f"{env.name}: {entry}"
        assert "python=3.11" in dependencies


def test_every_rule_names_an_existing_env():
    for smk in (REPO / "rules").glob("*.smk"):
        for line in smk.read_text().splitlines():
            if line.strip().startswith('"../envs/'):
                assert (REPO / "rules" / line.strip().strip('",')).resolve().exists(), line
