"""The strategy document reference, rendered from the JSON Schema that `GET /v1/strategy/schema`
serves, so the page cannot drift from what the service accepts:

    python -m kpi_goals.reference > docs/strategy-reference.md    # or: make docs

One section per schema definition, in the order they are reached from the top of the document
(nested sections as deeper headings), each a table of its fields; descriptions come from the
schema or, where it has none, from `kpi_goals.reference_text`. Pure apart from `main`.
"""

import argparse
import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from kpi_goals.document import StrategyDocument
from kpi_goals.reference_text import EXAMPLES, FIELDS, INTRO, SECTIONS

Schema = dict[str, Any]
ROOT = "StrategyDocument"
DEFAULT_EXAMPLE = Path("examples/acme/strategy.yaml")


class Undescribed(LookupError):
    """A schema field that neither the schema nor `reference_text` describes."""


def document_schema() -> Schema:
    """The JSON Schema of the strategy document: what GET /v1/strategy/schema returns."""
    return StrategyDocument.model_json_schema()


def render(schema: Schema, example: Any | None = None) -> str:
    """The whole reference page: the intro, then one section per definition."""
    defs: dict[str, Schema] = {**schema.get("$defs", {}), ROOT: schema}
    parts = [INTRO]
    for name, path, depth in _sections(defs):
        parts.append(_section(name, path, depth, defs[name], example))
    return "\n".join(parts)


def _sections(defs: dict[str, Schema]) -> Iterator[tuple[str, str, int]]:
    """(definition, path, heading depth) in depth-first order from the root, each once."""
    seen: set[str] = set()

    def walk(name: str, path: str, depth: int) -> Iterator[tuple[str, str, int]]:
        seen.add(name)
        yield name, path, depth
        for field, prop in defs[name].get("properties", {}).items():
            child_path, refs = _child(path, field, prop)
            for ref in refs:
                if ref not in seen:
                    yield from walk(ref, child_path, min(depth + 1, 6) if path else depth)

    yield from walk(ROOT, "", 2)


def _child(path: str, field: str, prop: Schema) -> tuple[str, list[str]]:
    """The path of a field's values (`kpis[]`, `alerts.channels.<name>`) and their $refs."""
    base = f"{path}.{field}" if path else field
    if prop.get("type") == "array" or _has(prop, "array"):
        base += "[]"
    if "patternProperties" in prop:
        base += ".<name>"
    return base, _refs(prop)


def _has(prop: Schema, kind: str) -> bool:
    return any(alt.get("type") == kind for alt in _alternatives(prop))


def _refs(prop: Schema) -> list[str]:
    """Definitions named anywhere inside one property's schema, in order."""
    found: list[str] = []
    stack = [prop]
    while stack:
        node = stack.pop(0)
        if "$ref" in node:
            found.append(node["$ref"].rsplit("/", 1)[-1])
        for key in ("anyOf", "oneOf"):
            stack.extend(node.get(key, []))
        for key in ("items", "additionalProperties"):
            if isinstance(node.get(key), dict):
                stack.append(node[key])
        stack.extend(node.get("patternProperties", {}).values())
    return found


def _alternatives(prop: Schema) -> list[Schema]:
    """A property's non-null alternatives (anyOf/oneOf flattened), or the property itself."""
    alts: list[Schema] = []
    for key in ("anyOf", "oneOf"):
        for alt in prop.get(key, []):
            alts.extend(_alternatives(alt))
    if not alts and ("anyOf" in prop or "oneOf" in prop):
        return []
    return [a for a in alts if a.get("type") != "null"] if alts else [prop]


def _section(name: str, path: str, depth: int, schema: Schema, example: Any | None) -> str:
    title = f"`{path}`" if path else "The document"
    lines = [f'<a id="{_anchor(name)}"></a>', "", f"{'#' * depth} {title} ({name})", ""]
    about = schema.get("description") or SECTIONS.get(name, "")
    if about:
        lines += [about, ""]
    lines += ["| field | type | required | default | allowed | description |"]
    lines += ["|---|---|---|---|---|---|"]
    required = set(schema.get("required", []))
    for field, prop in schema.get("properties", {}).items():
        lines.append(_row(name, field, prop, field in required))
    lines += ["", *_example(name, example)]
    return "\n".join(lines)


def _anchor(name: str) -> str:
    return name.lower()


def _row(definition: str, field: str, prop: Schema, required: bool) -> str:
    cells = [
        f"`{field}`",
        _type(prop),
        "yes" if required else "no",
        _default(prop, required),
        _allowed(prop),
        _description(definition, field, prop),
    ]
    return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"


def _description(definition: str, field: str, prop: Schema) -> str:
    text = prop.get("description") or FIELDS.get(definition, {}).get(field)
    if not text:
        raise Undescribed(f"{definition}.{field}: describe it in kpi_goals.reference_text")
    return str(text)


def _type(prop: Schema) -> str:
    kinds = [_kind(alt) for alt in _alternatives(prop)]
    return " or ".join(dict.fromkeys(kinds))


def _kind(alt: Schema) -> str:
    if "$ref" in alt:
        name = alt["$ref"].rsplit("/", 1)[-1]
        return f"[{name}](#{_anchor(name)})"
    kind = alt.get("type", "any")
    if kind == "array":
        return f"list of {_type(alt.get('items', {}))}"
    if kind == "object" and "patternProperties" in alt:
        [values] = alt["patternProperties"].values()
        return f"map of name to {_type(values)}"
    if kind == "object" and isinstance(alt.get("additionalProperties"), dict):
        return f"map of name to {_type(alt['additionalProperties'])}"
    return str(kind)


def _default(prop: Schema, required: bool) -> str:
    if required:
        return ""
    if "default" not in prop:
        return "empty"
    if prop["default"] is None:
        return "-"
    return f"`{json.dumps(prop['default'])}`"


def _allowed(prop: Schema) -> str:
    rules: list[str] = []
    for alt in _alternatives(prop):
        rules.extend(_constraints(alt))
        if alt.get("type") == "array":
            rules.extend(_constraints(alt.get("items", {})))
            rules.extend(r for a in _alternatives(alt.get("items", {})) for r in _constraints(a))
        for values in alt.get("patternProperties", {}):
            rules.append(f"names `{values}`")
    return "; ".join(dict.fromkeys(rules))


def _constraints(alt: Schema) -> list[str]:
    out: list[str] = []
    if "enum" in alt:
        out.append(", ".join(f"`{v}`" for v in alt["enum"]))
    if "const" in alt:
        out.append(f"`{json.dumps(alt['const'])}`")
    if "pattern" in alt:
        out.append(f"`{alt['pattern']}`")
    if "minLength" in alt or "maxLength" in alt:
        out.append(_length(alt.get("minLength"), alt.get("maxLength")))
    bounds = [
        (">=", alt.get("minimum")),
        (">", alt.get("exclusiveMinimum")),
        ("<=", alt.get("maximum")),
        ("<", alt.get("exclusiveMaximum")),
    ]
    out.extend(f"{op} {value}" for op, value in bounds if value is not None)
    if "minItems" in alt:
        out.append(f"at least {alt['minItems']} item(s)")
    return out


def _length(low: int | None, high: int | None) -> str:
    if low and high:
        return f"{low} to {high} characters"
    if high:
        return f"at most {high} characters"
    return "not empty" if low == 1 else f"at least {low} characters"


def _example(name: str, example: Any | None) -> list[str]:
    """An excerpt of the example document for this definition, as YAML."""
    if example is None or name not in EXAMPLES:
        return []
    section, ids, fields = EXAMPLES[name]
    value = example[section]
    if ids:
        value = [entry for entry in value if entry.get("id") in ids]
    if fields:
        value = [{k: v for k, v in entry.items() if k in ("id", *fields)} for entry in value]
    text = yaml.dump({section: value}, Dumper=_Dumper, sort_keys=False, width=96)
    return ["From the acme example:", "", "```yaml", text.rstrip(), "```", ""]


class _Dumper(yaml.SafeDumper):
    """Block style, except short collections of plain values on one line, as acme writes
    them (`supports: [a, b]`, `{metric: crm.deal.won, aggregation: count}`)."""


def _flat(items: list[Any]) -> bool:
    plain = all(not isinstance(item, dict | list) for item in items)
    return plain and sum(len(str(item)) + 2 for item in items) <= 70


def _sequence(dumper: yaml.SafeDumper, data: list[Any]) -> yaml.Node:
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=_flat(data))


def _mapping(dumper: yaml.SafeDumper, data: dict[str, Any]) -> yaml.Node:
    flow = _flat([*data, *data.values()])
    return dumper.represent_mapping("tag:yaml.org,2002:map", data, flow_style=flow)


def _string(dumper: yaml.SafeDumper, data: str) -> yaml.Node:
    """Quote strings that read like numbers or dates (`"01-01"`), as the format asks."""
    style = '"' if re.fullmatch(r"[0-9][0-9.:-]*", data) else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_Dumper.add_representer(list, _sequence)
_Dumper.add_representer(dict, _mapping)
_Dumper.add_representer(str, _string)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kpi_goals.reference")
    parser.add_argument("--example", type=Path, default=DEFAULT_EXAMPLE, help="example document")
    args = parser.parse_args(argv)
    example = yaml.safe_load(args.example.read_text(encoding="utf-8"))
    sys.stdout.write(render(document_schema(), example))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
