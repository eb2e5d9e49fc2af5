"""One row per figure, rendered as a Markdown table."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Row:
    figure: str
    value: float
    unit: str
    target: str = ""
    ok: bool | None = None


def render(rows: list[Row], machine: str) -> str:
    lines = [
        f"kpi-cascade benchmarks on {machine}",
        "",
        "| figure | value | unit | target | met |",
        "|---|---:|---|---|---|",
    ]
    for r in rows:
        met = "" if r.ok is None else ("yes" if r.ok else "NO")
        value = f"{r.value:,.2f}" if abs(r.value) < 10 else f"{r.value:,.0f}"
        lines.append(f"| {r.figure} | {value} | {r.unit} | {r.target} | {met} |")
    return "\n".join(lines)
