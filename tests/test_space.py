"""The Space / Docker image plumbing that scripts/check_space.sh relies on: .dockerignore rules, what the
Dockerfile installs and serves, and the 10 MB LFS check (on a throwaway repository). The full check, which serves
the image's files in a fresh venv and drives chromium, is ``bash scripts/check_space.sh`` (CI runs it)."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from scripts import check_space

ROOT = Path(__file__).resolve().parent.parent


def test_dockerignore_keeps_what_serving_needs_and_drops_the_rest():
    patterns = check_space.dockerignore_patterns(ROOT / ".dockerignore")
    for kept in ("app.py", "navigation.py", "app_pages/batch.py", "mbti_core/data/text.py", "mbti_core/runs.py",
                 "checkpoints/mft/model.safetensors", "reports/mft_vs_ft.json", ".streamlit/config.toml",
                 "requirements-serve.txt", ".gitattributes"):
        assert not check_space.ignored(kept, patterns), kept
    for dropped in (".git/HEAD", ".venv/bin/python", "runs/cpu/x", "data/x.csv", "tests/test_app.py",
                    "mbti_core/__pycache__/cli.cpython-311.pyc", "x.pyc", ".ci/run"):
        assert check_space.ignored(dropped, patterns), dropped


def test_the_image_installs_only_serving_requirements_and_keeps_xsrf_off_to_itself():
    docker = check_space.read_dockerfile(ROOT / "Dockerfile")
    assert docker["requirements"] == "requirements-serve.txt"
    assert docker["env"]["STREAMLIT_SERVER_ENABLE_XSRF_PROTECTION"] == "false" and docker["env"]["HOME"] == "/home/user"
    assert docker["cmd"][:3] == ["streamlit", "run", "app.py"]
    serve = (ROOT / "requirements-serve.txt").read_text(encoding="utf-8")
    pins = [line.split("==")[0].lower() for line in serve.splitlines() if line and not line.startswith("#")]
    assert all("==" in line for line in serve.splitlines() if line and not line.startswith("#"))
    assert not {"pytest", "playwright", "gradio", "accelerate", "onnx", "onnxscript", "openai", "scikit-learn"} & set(pins)
    assert {"torch", "streamlit", "onnxruntime", "transformers"} <= set(pins)


def test_requirements_and_pyproject_name_the_same_pinned_files():
    """requirements.txt (README, CI) installs the four files; pyproject.toml's dependencies and extras are them."""
    import tomllib

    parts = ["requirements-serve.txt", "requirements-train.txt", "requirements-gradio.txt", "requirements-test.txt"]
    included = [line.removeprefix("-r ").strip() for line in (ROOT / "requirements.txt").read_text().splitlines()
                if line.startswith("-r ")]
    assert included == parts
    for part in parts:
        lines = [line for line in (ROOT / part).read_text().splitlines() if line.strip() and not line.startswith("#")]
        assert lines and all("==" in line and not line.startswith("-") for line in lines), part
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    dynamic = project["tool"]["setuptools"]["dynamic"]
    assert dynamic["dependencies"]["file"] == ["requirements-serve.txt"]
    assert {name: spec["file"] for name, spec in dynamic["optional-dependencies"].items()} == {
        "serve": ["requirements-gradio.txt"], "train": ["requirements-train.txt"],
        "dev": ["requirements-train.txt", "requirements-gradio.txt", "requirements-test.txt"],
        "gradio": ["requirements-gradio.txt"], "test": ["requirements-test.txt"]}
    assert {"slow", "browser", "real_data"} <= {m.split(":")[0] for m in project["tool"]["pytest"]["ini_options"]["markers"]}


def test_the_lfs_check_fails_on_a_big_file_outside_the_lfs_rules(tmp_path):
    if subprocess.run(["git", "lfs", "version"], capture_output=True).returncode != 0:
        pytest.skip("git-lfs is not installed (scripts/check_space.sh installs it)")
    repo = tmp_path / "space"
    repo.mkdir()
    (repo / ".gitattributes").write_text("*.safetensors filter=lfs diff=lfs merge=lfs -text\n")
    (repo / "model.safetensors").write_bytes(b"\0" * 10_500_000)  # caught by the rule
    (repo / "small.bin").write_bytes(b"\0" * 1000)
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false"]
    for command in (["init", "-q", "-b", "main"], ["lfs", "install", "--local"], ["add", "-A"], ["commit", "-qm", "a"]):
        subprocess.run(git + command, check=True, capture_output=True)
    assert check_space.check_lfs(repo)["over_10mb"] == ["model.safetensors"]
    (repo / "weights.bin").write_bytes(b"\0" * 10_500_000)  # no rule catches *.bin
    for command in (["add", "-A"], ["commit", "-qm", "b"]):
        subprocess.run(git + command, check=True, capture_output=True)
    with pytest.raises(check_space.CheckFailed, match="weights.bin"):
        check_space.check_lfs(repo)
    shutil.rmtree(repo)


def test_committed_reports_hold_no_machine_paths():
    """Reports and checkpoint metadata travel to the Space and to other machines: the paths in them are project- or
    data-relative (``settings.project_relative``), never this machine's."""
    import json
    import re

    absolute = re.compile(r'"(?:(?:/[\w.$@+-]+){2,}/?|[A-Za-z]:\\\\[^"]*)"')  # "/a/b...", "C:\\..."
    files = sorted((ROOT / "reports").glob("*.json")) + sorted(
        path for path in (ROOT / "checkpoints").glob("*/*.json") if path.name != "tokenizer.json")
    assert len(files) > 10
    for path in files:
        text = path.read_text(encoding="utf-8")
        json.loads(text)
        assert not absolute.findall(text), (path.relative_to(ROOT).as_posix(), absolute.findall(text)[:3])
