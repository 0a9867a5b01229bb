"""Docker cannot run here: check that the Space's Dockerfile and README agree with run.sh."""

from __future__ import annotations

import re
import shlex
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _pip_installs(text: str) -> list[tuple[bool, str]]:
    """(no_deps, requirements file) for every `pip install ... -r FILE` in a script."""
    found = []
    for line in text.replace("\\\n", " ").splitlines():
        for part in line.split("&&"):
            if "pip install" in part and "-r" in part:
                words = shlex.split(part.replace('"$PY"', "python"))
                found.append(("--no-deps" in words, words[words.index("-r") + 1]))
    return sorted(found)


def test_dockerfile_installs_the_same_requirement_files_as_run_sh():
    docker = (ROOT / "Dockerfile").read_text()
    run_sh = (ROOT / "run.sh").read_text()
    install_fn = run_sh[run_sh.index("install_python()"): run_sh.index("install_browser()")]
    assert _pip_installs(docker) == _pip_installs(install_fn) == [(False, "requirements.txt"), (True, "requirements-nodeps.txt")]


def test_dockerfile_runs_the_same_start_command_as_run_sh():
    docker = (ROOT / "Dockerfile").read_text()
    cmd = re.search(r"^CMD (\[.*\])$", docker, re.M)
    assert cmd, "Dockerfile needs an exec-form CMD"
    args = yaml.safe_load(cmd.group(1))
    assert args[:5] == ["python", "-m", "streamlit", "run", "app.py"]
    assert "--server.headless" in args and args[args.index("--server.port") + 1] == "8501"
    assert args[args.index("--server.address") + 1] == "0.0.0.0"
    assert '"$PY" -m streamlit run app.py --server.headless true' in (ROOT / "run.sh").read_text()


def test_dockerfile_runs_as_uid_1000_with_writable_home():
    docker = (ROOT / "Dockerfile").read_text()
    assert "useradd -m -u 1000 user" in docker and re.search(r"^USER user$", docker, re.M)
    assert "HF_HOME=/home/user/" in docker and "EXPOSE 8501" in docker
    assert re.search(r"^FROM python:3\.11-slim", docker, re.M)


def test_readme_front_matter_configures_a_docker_space():
    text = (ROOT / "README.md").read_text()
    front = yaml.safe_load(text.split("---")[1])
    assert front["sdk"] == "docker" and front["app_port"] == 8501
    for key in ("title", "emoji", "short_description", "license", "suggested_hardware"):
        assert front.get(key), key
    assert len(front["short_description"]) <= 60  # the Hub's limit
    assert "bash run.sh app" in text and "bash run.sh test" in text


def test_streamlit_config_caps_uploads_and_stats():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert 0 < config["server"]["maxUploadSize"] <= 50
    assert config["browser"]["gatherUsageStats"] is False


def test_requirements_are_pinned():
    for name in ("requirements.txt", "requirements-nodeps.txt", "requirements-dev.txt"):
        lines = [ln.strip() for ln in (ROOT / name).read_text().splitlines() if ln.strip() and not ln.startswith("#")]
        assert lines and all("==" in ln for ln in lines), name
    assert "torch==2.13.0" in (ROOT / "requirements.txt").read_text()


def test_ci_runs_the_readme_test_command():
    assert "bash run.sh test" in (ROOT / ".ci" / "run").read_text()
