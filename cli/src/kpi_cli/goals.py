"""`kpi` commands for the goals service: strategy as code, the cascade, alignment, tenants
and API keys."""

import sys
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
import yaml
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from kpi_cli import data_health
from kpi_cli.app import app
from kpi_cli.client import CliError, ExitCode, check, connect
from kpi_cli.console import out, styled

get_app = typer.Typer(no_args_is_help=True, help="Read definitions back.")
tenants_app = typer.Typer(no_args_is_help=True, help="Tenants (needs KPI_OPERATOR_TOKEN).")
keys_app = typer.Typer(no_args_is_help=True, help="API keys of your tenant (admin key).")
app.add_typer(get_app, name="get")
app.add_typer(tenants_app, name="tenants")
app.add_typer(keys_app, name="keys")


def _goals() -> httpx.Client:
    return connect("goals")


@app.command("apply")
def apply(
    file: Annotated[Path, typer.Option("-f", "--file", help="strategy document, YAML or JSON")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="show the changes only")] = False,
    reason: Annotated[str | None, typer.Option(help="why (kept in the history)")] = None,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="delete what the document leaves out, unasked")
    ] = False,
) -> None:
    """Make the tenant's strategy match FILE (create, update, delete). Deletions are shown
    and asked for first (--yes for scripts; without a terminal, --yes is required)."""
    if not file.is_file():
        raise CliError(f"no such file: {file}")
    kind = "application/json" if file.suffix == ".json" else "application/yaml"
    headers = {"Content-Type": kind, **({"X-Change-Reason": reason} if reason else {})}
    content = file.read_bytes()
    with _goals() as http:
        preview = _put(http, content, headers, dry_run=True)
        if not dry_run:
            _confirm_deletions(file, preview, yes)
        body = preview if dry_run else _put(http, content, headers, dry_run=False)
    _print_changes(body)


def _put(http: httpx.Client, content: bytes, headers: dict[str, str], dry_run: bool) -> Any:
    params = {"dry_run": str(dry_run).lower()}
    return check(http.put("/v1/strategy", content=content, headers=headers, params=params))


def _confirm_deletions(file: Path, preview: dict[str, Any], yes: bool) -> None:
    """Show what applying FILE would delete and go on only when confirmed."""
    gone = [c for c in preview["changes"] if c["action"] == "delete"]
    if not gone:
        return
    out.print(_changes_table(gone))
    out.print(f"applying {file} deletes these {len(gone)} node(s)")
    if yes:
        return
    if not sys.stdin.isatty():
        raise CliError(
            f"not applied: {len(gone)} deletion(s) need confirmation and there is no terminal"
            " to ask\n  check them with --dry-run, then run again with --yes",
            ExitCode.UNCONFIRMED,
        )
    if not typer.confirm(f"delete these {len(gone)} node(s)?", default=False):
        raise CliError("not applied: the deletions were not confirmed", ExitCode.UNCONFIRMED)


def _print_changes(body: dict[str, Any]) -> None:
    verb = "would change" if body["dry_run"] else "changed"
    counts = f"{body['created']} created, {body['updated']} updated, {body['deleted']} deleted"
    if not body["changes"]:
        out.print(styled(("nothing to change", "green")))
        return
    out.print(_changes_table(body["changes"]))
    out.print(f"{verb}: {counts}")


def _changes_table(changes: list[dict[str, Any]]) -> Table:
    table = Table("action", "node", "revision", "fields")
    for c in changes:
        fields = "; ".join(
            f"{k}: {v['before']!r} -> {v['after']!r}" for k, v in c.get("fields", {}).items()
        )
        table.add_row(c["action"], f"{c['node_type']} {c['node_id']}", str(c["revision"]), fields)
    return table


@get_app.command("strategy")
def get_strategy(
    output: Annotated[str, typer.Option("-o", "--output", help="yaml or json")] = "yaml",
) -> None:
    """Print the tenant's strategy document (applying it back changes nothing)."""
    with _goals() as http:
        doc = check(http.get("/v1/strategy"))
    if output == "json":
        out.print_json(data=doc)
    else:
        typer.echo(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), nl=False)


@app.command("cascade")
def cascade(
    kpi: Annotated[str | None, typer.Option(help="one KPI's so-that chains")] = None,
) -> None:
    """Show the cascade as a tree: goals, objectives, success factors, KPIs."""
    with _goals() as http:
        body = check(http.get("/v1/cascade", params={"kpi": kpi} if kpi else None))
    if kpi:
        for chain in body["chains"]:
            out.print(Text(" -> so that -> ").join(_label(n) for n in chain))
        return
    out.print(cascade_tree(body))


def cascade_tree(body: dict[str, Any]) -> Tree:
    """GET /v1/cascade as a tree: organisation, goals and what serves them, then dead ends."""
    org = body["organization"]
    root = Tree(styled((org.get("name") or "organisation", "bold"), "  ", org.get("vision") or ""))
    for goal in body["goals"]:
        _branch(root, goal)
    if body["unlinked"]:
        lost = root.add(styled(("reaching no goal", "red")))
        for node in body["unlinked"]:
            lost.add(_label(node))
    return root


def _label(node: dict[str, Any]) -> Text:
    owner = ("", "") if not node.get("owner") else (f" ({node['owner']})", "dim")
    title = f" {node['id']}: {node.get('title') or ''}"
    return styled((node["node_type"], "cyan"), title, owner)


def _branch(parent: Tree, node: dict[str, Any]) -> None:
    here = parent.add(_label(node))
    for child in node["children"]:
        _branch(here, child)


@app.command("alignment")
def alignment(rule: Annotated[str | None, typer.Option(help="only this rule")] = None) -> None:
    """List alignment findings: dead ends, SMART gaps, targets not adding up, ... (goals);
    overdue reviews (notifier: a review recorded as held is not overdue); and the data's:
    metrics no KPI measures, KPIs without data, stale metrics (evaluator), rejects per
    source (metrics-ingest)."""
    with _goals() as http:
        body = check(http.get("/v1/alignment", params={"rule": rule} if rule else None))
    findings = [*body["findings"], *data_health.findings(rule)]
    table = Table("severity", "rule", "node", "explanation", "suggested fix")
    for f in findings:
        table.add_row(
            f["severity"],
            f["rule"],
            f"{f['node_type']} {f['node_id']}",
            f["explanation"],
            f["suggested_fix"],
        )
    out.print(table)
    counts = {s: sum(f["severity"] == s for f in findings) for s in ("error", "warning", "info")}
    out.print(
        f"{counts['error']} error(s), {counts['warning']} warning(s), {counts['info']} note(s)"
    )


@tenants_app.command("create")
def tenants_create(slug: str) -> None:
    """Create a tenant and print its first admin API key (shown only now)."""
    with connect("goals", "operator_token") as http:
        body = check(http.post("/v1/tenants", json={"slug": slug}))
    out.print(f"tenant_id      {body['tenant_id']}")
    out.print(f"admin_api_key  {body['admin_api_key']}  (shown once: keep it safe)")


@tenants_app.command("admin-key")
def tenants_admin_key(
    tenant: Annotated[str, typer.Argument(help="the tenant's slug or id")],
    name: Annotated[str | None, typer.Option(help="a note on why the key was issued")] = None,
) -> None:
    """Issue a new admin key for an existing tenant (for one locked out); recorded as
    created by the operator and shown only now."""
    with connect("goals", "operator_token") as http:
        body = check(http.post(f"/v1/tenants/{tenant}/admin-keys", json={"name": name}))
    out.print(f"tenant_id      {body['tenant_id']}")
    out.print(f"key_id         {body['key_id']}")
    out.print(f"admin_api_key  {body['admin_api_key']}  (shown once: keep it safe)")


@keys_app.command("create")
def keys_create(
    role: Annotated[str, typer.Option(help="admin, editor, viewer or ingest")],
    unit: Annotated[str | None, typer.Option(help="limit an editor to this unit subtree")] = None,
    name: Annotated[str | None, typer.Option(help="a note on what the key is for")] = None,
) -> None:
    """Create an API key of your tenant and print it (shown only now)."""
    payload = {"role": role, "unit": unit, "name": name}
    with _goals() as http:
        body = check(http.post("/v1/api-keys", json={k: v for k, v in payload.items() if v}))
    out.print(f"key_id   {body['key_id']}")
    out.print(f"api_key  {body['api_key']}  (shown once: keep it safe)")


@keys_app.command("list")
def keys_list() -> None:
    """List your tenant's API keys (never the keys themselves)."""
    with _goals() as http:
        body = check(http.get("/v1/api-keys"))
    table = Table("key_id", "role", "unit", "name", "created", "by", "revoked", "by")
    for k in body["items"]:
        table.add_row(
            k["key_id"],
            k["role"],
            k["unit_scope"] or "",
            k["name"] or "",
            k["created_at"],
            k.get("created_by") or "",
            (k.get("revoked_at") or "yes") if k["revoked"] else "",
            k.get("revoked_by") or "",
        )
    out.print(table)


@keys_app.command("revoke")
def keys_revoke(
    key_id: str,
    force: Annotated[
        bool, typer.Option("--force", help="revoke even your own or the last admin key")
    ] = False,
) -> None:
    """Revoke an API key; it is refused from now on. Your own key or the tenant's last
    admin key needs --force."""
    with _goals() as http:
        check(http.delete(f"/v1/api-keys/{key_id}", params={"force": "true"} if force else None))
    out.print(f"revoked {key_id}")


@app.command("history")
def history(kpi_id: str) -> None:
    """Every change of a KPI's definition: when, who (key id), why, and what changed."""
    with _goals() as http:
        body = check(http.get(f"/v1/kpis/{kpi_id}/history"))
    table = Table("revision", "when", "action", "who", "why", "changes")
    for h in body["history"]:
        changes = (
            "; ".join(f"{k}: {v['before']!r} -> {v['after']!r}" for k, v in h["fields"].items())
            if h["action"] == "update"
            else ""
        )
        table.add_row(
            str(h["revision"]),
            h["changed_at"],
            h["action"],
            h["key_id"] or "",
            h["reason"] or "",
            changes,
        )
    out.print(table)
