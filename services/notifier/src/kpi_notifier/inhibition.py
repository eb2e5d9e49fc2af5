"""Inhibition, in the spirit of Alertmanager's `inhibit_rules`: while a breach matching a
rule's `source` is open, a new breach matching its `target` whose `equal` labels (`unit`,
`kpi`, `perspective`) have the source's values is muted: recorded, its notifications
`suppressed` with `suppressed_by` `inhibit<rule position>`, never sent.

The rules come from the strategy (`alerts.inhibit`, docs/notifier.md#inhibition). A
document that declares none gets the documented default from goals: a critical breach
mutes warning breaches of the same unit. A breach never mutes itself, and a restatement (a
closed period's breach, which pages nobody) mutes nothing.
"""

from collections.abc import Iterable

from kpi_notifier.directory import Directory, InhibitRule
from kpi_notifier.routing import Breach, matches


def label(breach: Breach, name: str) -> str | None:
    values = {"unit": breach.unit_id, "kpi": breach.kpi_id, "perspective": breach.perspective}
    return values.get(name)


def _mutes(directory: Directory, rule: InhibitRule, source: Breach, target: Breach) -> bool:
    return (
        source.breach_id != target.breach_id
        and source.resolved_at is None
        and source.pages
        and matches(directory, rule.source, source)
        and all(label(source, name) == label(target, name) for name in rule.equal)
    )


def inhibited_by(
    directory: Directory, breach: Breach, open_breaches: Iterable[Breach]
) -> tuple[InhibitRule, Breach] | None:
    """The first rule (in document order) that mutes `breach`, with the open breach that
    mutes it; None when nothing does."""
    sources = list(open_breaches)
    for rule in directory.inhibit:
        if not matches(directory, rule.target, breach):
            continue
        source = next((s for s in sources if _mutes(directory, rule, s, breach)), None)
        if source is not None:
            return rule, source
    return None


def inhibition_id(rule: InhibitRule) -> str:
    """What `suppressed_by` records for a muted notification."""
    return f"inhibit{rule.position}"
