"""The words of the strategy document reference (`kpi_goals.reference`): what each field of
the JSON Schema means, where the schema itself carries no `description`.

Keyed by the schema's definition name (`$defs`) and property. The renderer refuses a field
without a description, so a field added to `kpi_goals.document` fails the reference test
until it is described here.
"""

INTRO = """\
# Strategy document reference

Every field of the strategy document that `PUT /v1/strategy` (`kpi apply -f`) accepts: its
type, whether it is required, its default, the values allowed, and what it means. This page is
generated from the JSON Schema that the goals service serves at `GET /v1/strategy/schema`
(`StrategyDocument` in `services/goals/src/kpi_goals/document.py`), with the examples taken
from [`examples/acme/strategy.yaml`](../examples/acme/strategy.yaml). Do not edit it by hand:

```sh
make docs    # = uv run python -m kpi_goals.reference > docs/strategy-reference.md
```

`tests/unit/kpi_goals/test_reference.py` fails when this page and the schema differ.
[strategy.md](strategy.md) explains the document as a whole and what is rejected.

How to read the tables:

- **required**: `yes` when the field must be present. Unknown fields are errors everywhere.
- **default**: what a missing field means. `empty` is an empty list or map; `-` means absent
  (no value: for example no owner, no target).
- **allowed**: the constraints the schema checks (patterns, lengths, bounds, enumerations).
  Checks across the document (references to ids that must exist, duplicate ids, cycles,
  per-period target labels that fit the period) are made after the schema; they are listed
  in [strategy.md](strategy.md#what-is-rejected).
- An **id** is lower case, `^[a-z0-9][a-z0-9_.-]*$`, at most 100 characters. Units, people and
  reviews each have their own namespace; goals, objectives, success factors and KPIs share one.
- Numbers are JSON/YAML numbers, never strings: `"50"` and `true` are refused. YAML reads
  `1e6` as text; write `1000000` or `1.0e6`.
- Dates are strings `YYYY-MM-DD` of a real day. Durations are `<n><unit>` with unit `m`
  (minutes), `h`, `d` or `w`: `30m`, `12h`, `2d`, `1w`.
"""

# Per definition: a sentence or two shown under its heading.
SECTIONS: dict[str, str] = {
    "StrategyDocument": (
        "The whole document. Applying it makes the tenant's cascade match it: entries are "
        "created, updated and deleted in one transaction, or nothing is applied."
    ),
    "Organization": "The organisation itself: the root of the cascade and its calendar.",
    "Unit": (
        "The unit tree: organisation -> departments -> teams. A unit's alert routes, "
        "silences and editor keys cover the units below it."
    ),
    "Person": "People: owners of units, goals and KPIs, attendees of reviews, alert recipients.",
    "Goal": "Goals: what the organisation wants to achieve (the top of each so-that chain).",
    "Objective": (
        "Objectives: measurable steps towards goals, usually owned by a department. Same "
        "fields as a goal."
    ),
    "SuccessFactor": (
        'Critical success factors: the "what" that must go right for an objective; KPIs are '
        'their "how much".'
    ),
    "Kpi": (
        "KPIs: the numbers, each with a measure over the metric events, a period, a target "
        "and the reason it exists (`so_that`)."
    ),
    "MetricMeasure": (
        "A measure over one metric: the events of `metric` (that match `where`) aggregated "
        "over the KPI's period."
    ),
    "RatioMeasure": "A ratio of two metric measures, for rates (churn, bounce rate).",
    "Ratio": "The numerator and denominator of a ratio; no value while the denominator is 0.",
    "FormulaMeasure": "A KPI computed from other KPIs of the same document.",
    "RelativeTarget": (
        "A target relative to the KPI's `baseline` (which is then required). Exactly one of "
        "the two fields."
    ),
    "RangeTarget": "A target range: inside `[min, max]` is on track. Use with `direction: range`.",
    "PeriodTarget": (
        "A target for one period of the KPI; other periods fall back to `target`. Changes "
        "are kept in the KPI's history with their `reason`."
    ),
    "RollingPeriod": "A rolling window of days instead of a calendar period.",
    "Review": (
        "Periodic reviews (quarterly, half-yearly, ...): the notifier reminds the attendees "
        "before each one and reports it overdue when it was not recorded as held."
    ),
    "Alerts": "Who hears about breaches, and through which channels.",
    "Channel": (
        "A named channel: exactly one of `slack`, `email`, `webhook`. Secrets written "
        "`${VAR}` stay unresolved in the strategy; the notifier reads them from its "
        "environment when it sends."
    ),
    "SlackChannel": "A Slack incoming webhook.",
    "EmailChannel": "Fixed email addresses (a team list, a shared mailbox).",
    "WebhookChannel": (
        "A generic HTTPS endpoint. Each POST carries `X-KPI-Signature: t=<unix s>,v1=<hex>`, "
        'the HMAC-SHA256 of `"<t>.<body>"` with `secret`.'
    ),
    "Route": (
        "Routes are tried in document order; the first whose `match` holds decides who is "
        "told about a breach. No route matches: the KPI owner, by email."
    ),
    "RouteMatch": "",  # the schema's own description (the class docstring) is shown
    "BurnRate": (
        "A burn-rate alert rule (off unless declared): the period's budget is the shortfall "
        "it may end with (`budget`, else the KPI's at-risk band `1 - at_risk_below`); the "
        "rule fires when both windows spend it more than `factor` times too fast, and "
        "resolves when the short window drops below. Only for KPIs that accrue (a metric "
        "with `sum` or `count`, `increase` or `decrease`, a week, month, quarter or year "
        "period). [strategy.md](strategy.md#burn-rate-alerts) has the worked numbers."
    ),
}

_ID = "must name an existing"
_PERSPECTIVE = (
    "balanced scorecard perspective: `financial`, `customer`, `internal_process`, "
    "`learning_and_growth` or `innovation`"
)

FIELDS: dict[str, dict[str, str]] = {
    "StrategyDocument": {
        "version": "Version of the format. Only `1` exists.",
        "organization": "The organisation: name, calendar, currency, vision and mission.",
        "units": "The unit tree.",
        "people": "People of the organisation.",
        "goals": "Goals.",
        "objectives": "Objectives.",
        "success_factors": "Critical success factors.",
        "kpis": "KPIs.",
        "reviews": "Review cycles.",
        "alerts": "Alert channels and routes.",
    },
    "Organization": {
        "name": "The organisation's name.",
        "fiscal_year_start": (
            'First day of the fiscal year, `"MM-DD"` (quote it in YAML). Fiscal years are '
            "named by the calendar year in which they start; quarters count from this day."
        ),
        "timezone": (
            "IANA time zone (`Europe/Berlin`). Periods, review dates and digests follow its "
            "local clock."
        ),
        "currency": "ISO 4217 code (`USD`, `EUR`).",
        "vision": "The vision statement, shown at the top of the cascade.",
        "mission": "The mission statement, shown at the top of the cascade.",
    },
    "Unit": {
        "id": "The unit's id.",
        "name": "Display name.",
        "parent": f"The unit above it; {_ID} unit. No parent: a root of the tree.",
        "owner": (
            f"The person responsible; {_ID} person. Escalations and weekly scorecards go to "
            "the owner (else to the first person of the unit)."
        ),
    },
    "Person": {
        "id": "The person's id (used by `owner`, `attendees`, routes' `notify`).",
        "name": "Full name.",
        "unit": f"The unit the person belongs to; {_ID} unit.",
        "email": "Email address for breach, reminder and review notifications.",
        "slack": "Slack member id (`U0123ABCD`), to mention the person in Slack messages.",
    },
    "Goal": {
        "id": "The goal's id.",
        "title": "What is to be achieved.",
        "unit": f"The unit that owns it; {_ID} unit.",
        "owner": f"The person accountable; {_ID} person.",
        "perspective": f"The {_PERSPECTIVE}.",
        "description": "Free text.",
        "supports": "A goal (or goals) this one serves: one id or a list.",
        "due": "The date it should be achieved by (`YYYY-MM-DD`).",
    },
    "Objective": {
        "id": "The objective's id.",
        "title": "What is to be achieved, ideally with a number and a date.",
        "unit": f"The unit that owns it; {_ID} unit.",
        "owner": f"The person accountable; {_ID} person (SMART: an objective needs one).",
        "perspective": f"The {_PERSPECTIVE}.",
        "description": "Free text.",
        "supports": "The goals or objectives it serves: one id or a list.",
        "due": "The date it should be achieved by (`YYYY-MM-DD`; SMART: it needs one).",
    },
    "SuccessFactor": {
        "id": "The success factor's id.",
        "title": "What must go right.",
        "unit": (
            f"The unit that owns it; {_ID} unit. Missing: the unit of what it supports "
            "(matters for editors limited to a unit subtree)."
        ),
        "owner": f"The person accountable; {_ID} person.",
        "description": "Free text.",
        "supports": "The goals, objectives or success factors it serves: one id or a list.",
    },
    "Kpi": {
        "id": "The KPI's id (also how formulas refer to it).",
        "title": "What is measured.",
        "unit": f"The unit whose scorecard it belongs to; {_ID} unit.",
        "owner": f"The person accountable, told about its breaches; {_ID} person.",
        "so_that": (
            "What the KPI serves: a success factor, objective or goal, one id or a list. "
            "Missing: the KPI is a dead end (alignment finding `kpi_dead_end`)."
        ),
        "perspective": (
            f"The {_PERSPECTIVE}. Missing: the perspective of the goal its so-that chain reaches."
        ),
        "description": "Free text.",
        "measure": (
            "How the actual is computed from metric events: a metric measure, a ratio or a "
            "formula (the sections below)."
        ),
        "period": (
            "The period the actual is aggregated over and judged per: a calendar period on the "
            "organisation's fiscal calendar, or a rolling window."
        ),
        "direction": (
            "`increase`: higher is better; `decrease`: lower is better (a `sum` with "
            "`decrease` is a budget cap); `range`: inside a `{min, max}` target."
        ),
        "unit_of_measure": "Free text shown with the numbers: `USD`, `days`, `ratio`, `clients`.",
        "baseline": "The starting value; required by relative targets.",
        "target": (
            "The target of every period: a number, a relative target (`{increase_by: 20%}`) "
            "or a range (`{min, max}`)."
        ),
        "targets": (
            "Targets of single periods, overriding `target` there (not on rolling periods)."
        ),
        "at_risk_below": (
            "Performance (actual against the value expected by now, inverted for "
            "`decrease`) under which the KPI is `off_track` rather than `at_risk` "
            "(0.9 when missing)."
        ),
        "weight": "Weight in the roll-up score of what it serves (default 1 when missing).",
        "contributes_to": (
            "A parent KPI whose target this KPI's target is a part of; alignment checks that "
            "the parts add up for `sum` and `count` measures."
        ),
        "due": "For a KPI without a period: the date its target is due (`YYYY-MM-DD`).",
        "burn_rates": "Burn-rate alert rules on this KPI's target (see `BurnRate`).",
    },
    "MetricMeasure": {
        "metric": "The metric name of the events (`crm.deal.won`), as sent to metrics-ingest.",
        "aggregation": (
            "How the period's events combine. `sum` and `count` accumulate through the "
            "period (judged against the pace); `avg`, `min`, `max`, `last` are levels."
        ),
        "field": (
            "The numeric dimension to aggregate instead of the event's `value` "
            "(`days_to_pay`); `value` is also accepted."
        ),
        "where": (
            "Only events whose dimensions equal all of these (`{region: emea}`); `true`, "
            '`True` and `"true"` compare equal.'
        ),
    },
    "RatioMeasure": {"ratio": "The numerator and the denominator."},
    "Ratio": {
        "numerator": "A metric measure.",
        "denominator": "A metric measure.",
    },
    "FormulaMeasure": {
        "formula": (
            "Other KPIs by id with numbers, `+ - * /` and parentheses: "
            "`(revenue - operating-costs) / revenue`. Ids may contain `-`, so the minus "
            "operator needs spaces around it."
        ),
    },
    "RelativeTarget": {
        "increase_by": (
            "Baseline raised by a percentage (`20%`) or, as a plain number, by that amount."
        ),
        "decrease_by": (
            "Baseline lowered by a percentage (`10%`) or, as a plain number, by that amount."
        ),
    },
    "RangeTarget": {
        "min": "Lower bound (at most `max`).",
        "max": "Upper bound.",
    },
    "PeriodTarget": {
        "period": (
            "A label of the KPI's period: `2026` (year), `2026-Q1` (fiscal quarter), "
            "`2026-01` (month), `2026-W05` (ISO week), `2026-01-15` (day)."
        ),
        "value": "The target of that period.",
        "reason": "Why this target (kept in the KPI's history).",
    },
    "RollingPeriod": {
        "rolling_days": "Window length in days; the value of day D covers the N days ending D.",
    },
    "Review": {
        "id": "The review's id (`kpi review-held ID` records one as held).",
        "title": "Display name.",
        "unit": f"The unit reviewed; {_ID} unit. Its owner is reminded when no attendees.",
        "cadence": "How often it repeats after `next`.",
        "next": "The date of the next review (`YYYY-MM-DD`).",
        "remind_before": "When to remind the attendees before the review: durations (`7d`).",
        "attendees": f"Who is reminded; each {_ID} person.",
    },
    "Alerts": {
        "channels": "Named channels (the names are ids that routes' `notify` can use).",
        "routes": "Ordered routing rules; the first that matches decides.",
        "inhibit": (
            "Inhibition rules: while a breach matching `source` is open, breaches matching "
            "`target` with the same `equal` labels are muted. Missing: the default, critical "
            "mutes warning in the same unit. `[]`: none."
        ),
    },
    "InhibitRule": {
        "source": "The muting breach: a route's `match`. Missing: any breach.",
        "target": "The muted breach: a route's `match`. Missing: any breach.",
        "equal": "Labels (`unit`, `kpi`, `perspective`) the two breaches must share.",
    },
    "Channel": {
        "slack": "A Slack incoming webhook.",
        "email": "Email to fixed addresses.",
        "webhook": "A signed HTTP POST.",
    },
    "SlackChannel": {
        "webhook_url": "The incoming webhook URL; write `${VAR}` to keep it out of the document.",
    },
    "EmailChannel": {"to": "The addresses."},
    "WebhookChannel": {
        "url": "Where to POST (may be `${VAR}`).",
        "secret": "HMAC key of `X-KPI-Signature` (write `${VAR}`). Missing: unsigned.",
    },
    "Route": {
        "match": "Conditions that must all hold. Missing: the route matches every breach.",
        "notify": (
            "Who is told, in order: `owner` (the KPI's owner, by email), a person id "
            "(by email) or a channel name."
        ),
        "escalate_after": (
            "When the breach is still open and unacknowledged this long after it opened, "
            "one escalation email goes to the owner of the nearest unit above the KPI's unit "
            "whose owner is not the KPI's owner."
        ),
        "mode": (
            "`live` (the default) sends; `shadow` sends nothing: the route is tried on the "
            "live stream beside the live routes, and what it would have sent is recorded "
            "(`GET /v1/shadow` on the notifier, `kpi shadow`)."
        ),
        "group_wait": (
            "How long a new incident's first notification waits for the rest of its "
            "breaches (`300ms`, `2s`, `1m`; at most `10m`). Missing: the notifier's "
            "`KPI_NOTIFIER_GROUP_WAIT_S` (1 s)."
        ),
        "burn_rates": (
            "Burn-rate alert rules for every KPI this route's `match` selects that can have "
            "one (others are skipped); their alerts go to this route's `notify`."
        ),
    },
    "BurnRate": {
        "long": "The long window: the last `<n>d` or `<n>w` up to now, cut at the period start.",
        "short": "The short window, shorter than `long`: it confirms the long one and resolves.",
        "factor": "Fire when both windows burn the budget more than this many times too fast.",
        "budget": (
            "The shortfall tolerated at period end, as a share of the target (default: "
            "`1 - at_risk_below`, 10% for the default 0.9)."
        ),
        "severity": "The alert's severity, for routes that match on it.",
        "mode": "`shadow`: evaluated and recorded, never sent (try a rule before it pages).",
    },
    "RouteMatch": {
        "unit": "The KPI's unit or any unit above it (a unit's route covers its subtree).",
        "kpi": "The KPI id.",
        "perspective": "The KPI's perspective.",
        "severity": "`critical` (the KPI is off track) or `warning` (at risk).",
    },
}

# Examples from the acme strategy: definition -> (section of the document, ids of the entries
# to show (none: the whole section), fields of each entry to show besides `id` (none: all)).
EXAMPLES: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    "Organization": ("organization", (), ()),
    "Unit": ("units", ("acme", "sales", "sales-emea"), ()),
    "Person": ("people", ("dana",), ()),
    "Goal": ("goals", ("grow-revenue",), ()),
    "Objective": ("objectives", ("collect-faster",), ()),
    "SuccessFactor": ("success_factors", ("strong-pipeline",), ()),
    "Kpi": ("kpis", ("revenue", "new-clients"), ()),
    "MetricMeasure": ("kpis", ("revenue-emea", "ar-days"), ("measure",)),
    "RatioMeasure": ("kpis", ("churn-rate",), ("measure",)),
    "FormulaMeasure": ("kpis", ("profit-margin",), ("measure",)),
    "RelativeTarget": ("kpis", ("churn-rate",), ("direction", "baseline", "target")),
    "PeriodTarget": ("kpis", ("qualified-leads",), ("period", "targets")),
    "Review": ("reviews", ("quarterly-business-review",), ()),
    "Alerts": ("alerts", (), ()),
}
