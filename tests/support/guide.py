"""Run a guide of docs/ as its reader does: its ```sh blocks in order, in one terminal.

A block preceded by `<!-- test: skip (why) -->` is not run (the test does the equivalent);
a ```yaml block whose first line is `# <file name>` is a file the reader saves. Each step
keeps the output the guide shows right after it (a plain ``` block), for the test to check
with the readers of printed tables and JSON below. A placeholder (`KEY_ID`) is filled in
with a value printed before, as the reader does.
"""

import json
import os
import re
import signal
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SKIP = re.compile(r"^<!-- test: skip \((?P<why>.+)\) -->$")
FILE = re.compile(r"^# (?P<name>[\w.-]+\.ya?ml)\n")


@dataclass(frozen=True)
class Step:
    """A fenced block of the guide: `sh` to run, or a file the reader saves (`name`)."""

    line: int
    code: str
    skip: str | None = None
    name: str | None = None
    shown: str | None = None  # the output the guide shows right after the block

    @property
    def title(self) -> str:
        return f"the block at line {self.line} ({self.code.splitlines()[0]!r})"


def steps(text: str) -> list[Step]:
    """The ```sh blocks and the ```yaml blocks that start with `# <file name>`, in order."""
    found: list[Step] = []
    lines = text.splitlines()
    for n, line in enumerate(lines):
        if line not in ("```sh", "```yaml"):
            continue
        end = lines.index("```", n + 1)
        code = "\n".join(lines[n + 1 : end]) + "\n"
        if line == "```sh":
            marker = SKIP.match(lines[n - 1])
            why = marker.group("why") if marker else None
            found.append(Step(n + 2, code, why, shown=_shown(lines, end + 1)))
        elif named := FILE.match(code):
            found.append(Step(n + 2, code, name=named.group("name")))
    return found


def _shown(lines: list[str], n: int) -> str | None:
    """The plain ``` block starting at line `n` (after blank lines), if there is one."""
    while n < len(lines) and not lines[n].strip():
        n += 1
    if n == len(lines) or lines[n] != "```":
        return None
    return "\n".join(lines[n + 1 : lines.index("```", n + 1)])


# After the block: the exported environment, then the functions and the variables the
# session defined (not bash's own), for the next block to start from.
_KEEP = """
env -0 > {env0}
{{ declare -f
  for __kpi_v in $(comm -13 <(echo "$__kpi_vars0") <(compgen -v | sort)); do
    [[ $__kpi_v == __kpi_* || $__kpi_v == BASH* ]] || declare -p "$__kpi_v"
  done; }} > {state}
"""


class Terminal:
    """One reader's shell session in `cwd`: exported variables, plain variables and
    functions carry from one block to the next, as in a terminal. `env` is its exported
    environment (the test adds what `make up` would have told the reader to set)."""

    def __init__(self, cwd: Path, env: dict[str, str]) -> None:
        self.cwd, self.env = cwd, env
        self._state = cwd.parent / "terminal-state.sh"
        self._env0 = cwd.parent / "terminal-env"
        self._state.write_text("")

    def run(self, code: str, timeout_s: float = 90) -> tuple[int, str]:
        """Run `code` with `bash -euo pipefail`; its exit code and output (stdout and
        stderr, as the reader sees them)."""
        script = f"__kpi_vars0=$(compgen -v | sort)\nsource {self._state}\n{code}\n"
        script += _KEEP.format(env0=self._env0, state=self._state)
        with subprocess.Popen(
            ["bash", "-euo", "pipefail", "-c", script],
            cwd=self.cwd,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # a block that hangs is stopped with all it started
        ) as shell:
            try:
                out, _ = shell.communicate(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                os.killpg(shell.pid, signal.SIGKILL)
                out, _ = shell.communicate()
                return -1, f"{out}\n(stopped after {timeout_s:.0f} s)"
        if shell.returncode == 0:
            pairs = self._env0.read_text().split("\0")
            self.env = dict(p.split("=", 1) for p in pairs if "=" in p)
        return shell.returncode, out


def filled(step: Step, transcript: list[str], placeholders: Mapping[str, str]) -> str:
    """The block with each placeholder (a word the reader replaces with a value printed
    before) replaced by the newest match of its pattern's group in the `transcript`."""
    code = step.code
    for name, pattern in placeholders.items():
        if re.search(rf"\b{name}\b", code):
            found = [m for out in transcript for m in re.findall(pattern, out)]
            assert found, f"{step.title}: nothing printed before it gives {name}"
            code = re.sub(rf"\b{name}\b", found[-1], code)
    return code


def rows(out: str) -> list[list[str]]:
    """The cells of each row of the tables printed."""
    lines = [line for line in out.splitlines() if line.startswith("│")]
    return [[cell.strip() for cell in line.split("│")[1:-1]] for line in lines]


def first(table: list[list[str]], value: int) -> dict[str, str]:
    """Column `value` by the first column, from the first row of each key."""
    found: dict[str, str] = {}
    for row in table:
        found.setdefault(row[0], row[value])
    return found


def jsons(out: str) -> list[Any]:
    """The JSON objects printed (curl prints one answer after the other on a line)."""
    found, decoder, at = [], json.JSONDecoder(), out.find("{")
    while at >= 0:
        try:
            value, end = decoder.raw_decode(out, at)
        except ValueError:
            end = at + 1
        else:
            found.append(value)
        at = out.find("{", end)
    return found
