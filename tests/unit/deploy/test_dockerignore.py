"""The build context: `.dockerignore` (the repository root's, or the patterns this suite proposes
while there is none) keeps every file the Dockerfile copies and drops the bulky rest."""

import re
import shlex
from functools import cache

import pytest

from tests.unit.deploy._paths import DOCKERFILE, ROOT, SERVICES

# Proposed for the repository root's .dockerignore (docs/deployment.md, "The images").
PROPOSED = """
.git
.local
**/.venv
**/__pycache__
**/*.pyc
.mypy_cache
.ruff_cache
.pytest_cache
bench-results
**/*.egg-info
**/dist
.env
deploy/**
!deploy/docker/healthcheck.py
!deploy/local/pyproject.toml
cli/**
!cli/pyproject.toml
tests
docs
bench
demo
examples
scripts
"""


def _patterns() -> list[tuple[bool, re.Pattern[str]]]:
    """(is_exception, regex) per line, in order; the last pattern that matches a path wins."""
    source = ROOT / ".dockerignore"
    text = source.read_text(encoding="utf-8") if source.exists() else PROPOSED
    out = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        out.append((negate, _regex(line.removeprefix("!").strip().strip("/"))))
    return out


def _regex(pattern: str) -> re.Pattern[str]:
    """Docker's matching: `*` and `?` within a path segment, `**` across any number of them."""
    out, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        else:
            c = pattern[i]
            out, i = out + {"*": "[^/]*", "?": "[^/]"}.get(c, re.escape(c)), i + 1
    return re.compile(out)


def excluded(path: str) -> bool:
    """True when the build context leaves `path` out: the last pattern that matches it or a
    folder above it decides (moby's patternmatcher.MatchesOrParentMatches)."""
    prefixes = ["/".join(path.split("/")[: i + 1]) for i in range(path.count("/") + 1)]
    state = False
    for negate, regex in _patterns():
        if any(regex.fullmatch(p) for p in prefixes):
            state = not negate
    return state


@cache
def _copied_files() -> list[str]:
    files: list[str] = []
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text(encoding="utf-8"))
    for line in text.splitlines():
        words = shlex.split(line, comments=True)
        if not words or words[0] != "COPY" or any(w.startswith("--from") for w in words):
            continue
        for source in [w for w in words[1:-1] if not w.startswith("--")]:
            for service in SERVICES:
                base = ROOT / source.replace("${SERVICE}", service)
                found = base.rglob("*") if base.is_dir() else [base]
                files += [str(p.relative_to(ROOT)) for p in found if p.is_file()]
    return sorted(set(files))


def test_every_file_the_dockerfile_copies_is_in_the_context() -> None:
    wanted = [f for f in _copied_files() if "__pycache__" not in f and not f.endswith(".pyc")]
    assert wanted
    assert [f for f in wanted if excluded(f)] == []


@pytest.mark.parametrize(
    "path",
    [
        ".git/HEAD",
        ".local/pg/postgresql.conf",
        ".venv/bin/python",
        "services/goals/src/kpi_goals/__pycache__/main.cpython-311.pyc",
        "tests/unit/deploy/test_k8s.py",
        "deploy/k8s/goals.yaml",
        "cli/src/kpi_cli/main.py",
    ],
)
def test_bulky_and_unused_paths_stay_out(path: str) -> None:
    assert excluded(path)


@pytest.mark.parametrize(
    ("patterns", "path", "out"),
    [
        ("deploy/**\n!deploy/docker/healthcheck.py", "deploy/docker/healthcheck.py", False),
        ("deploy/**\n!deploy/docker/healthcheck.py", "deploy/docker/other.py", True),
        ("**/__pycache__", "a/b/__pycache__/x.pyc", True),
        ("tests", "tests/unit/x.py", True),
        ("tests", "libs/tests/x.py", False),
        ("*.md", "README.md", True),
        ("*.md", "docs/a.md", False),
    ],
)
def test_matcher_follows_docker_semantics(
    monkeypatch: pytest.MonkeyPatch, patterns: str, path: str, out: bool
) -> None:
    monkeypatch.setattr(
        "tests.unit.deploy.test_dockerignore._patterns",
        lambda: [
            (p.startswith("!"), _regex(p.removeprefix("!").strip("/")))
            for p in patterns.splitlines()
        ],
    )
    assert excluded(path) is out
