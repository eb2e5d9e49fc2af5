"""Reading a strategy document from YAML or JSON text, keeping the line of every field.

Dates and times stay strings as written (`2026-12-31`): the YAML timestamp resolver is
turned off, so the definitions published downstream are the document as written.
"""

from dataclasses import dataclass, field
from typing import Any

import orjson
import yaml
from kpi_common.errors import FieldError, Invalid, loc_to_path

Path_ = tuple[int | str, ...]
_TIMESTAMP = "tag:yaml.org,2002:timestamp"
TOO_DEEP = "collections nested too deeply"


class _Loader(yaml.SafeLoader):
    """SafeLoader without the timestamp resolver: dates stay the strings written."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != _TIMESTAMP]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


@dataclass(frozen=True)
class Source:
    """The raw document and, when it came from YAML, the line of each field path."""

    data: Any
    lines: dict[Path_, int] = field(default_factory=dict)

    def line_of(self, path: Path_) -> int | None:
        """The line of `path`, or of its nearest enclosing field that has one."""
        for end in range(len(path), -1, -1):
            line = self.lines.get(path[:end])
            if line is not None:
                return line
        return None


def parse_yaml(text: str) -> Source:
    """Parse YAML text. Duplicate keys and aliases (`*anchor`) are refused with their line:
    the first would silently drop a value, the second can expand a small text enormously."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        lines: dict[Path_, int] = {}
        problems: list[FieldError] = []
        if node is not None:
            _walk(node, (), lines, problems, set())
        if problems:
            raise Invalid(f"the strategy document has {len(problems)} error(s)", problems)
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise Invalid("the document is not valid YAML", [FieldError("", str(exc), line)]) from None
    except RecursionError:  # PyYAML composes nested collections recursively
        raise Invalid("the document is nested too deeply", [FieldError("", TOO_DEEP)]) from None
    finally:
        loader.dispose()
    return Source(data, lines)


def parse_json(raw: bytes) -> Source:
    try:
        return Source(orjson.loads(raw))
    except orjson.JSONDecodeError as exc:
        raise Invalid("the document is not valid JSON", [FieldError("", str(exc))]) from None


def parse(raw: bytes, content_type: str | None) -> Source:
    """JSON when the content type says so, YAML otherwise (YAML is a superset of JSON)."""
    if content_type and "json" in content_type.lower():
        return parse_json(raw)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise Invalid("the document is not UTF-8 text", [FieldError("", "not UTF-8")]) from None
    return parse_yaml(text)


def _walk(
    node: yaml.Node,
    path: Path_,
    lines: dict[Path_, int],
    problems: list[FieldError],
    seen: set[int],
) -> None:
    """Record the line of every field path; report duplicate keys and aliases."""
    line = node.start_mark.line + 1
    lines.setdefault(path, line)
    if id(node) in seen:
        problems.append(
            FieldError(loc_to_path(path), "anchors and aliases are not supported", line)
        )
        return
    seen.add(id(node))
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node)
            here = (*path, key)
            if here in lines and lines[here] != key_node.start_mark.line + 1:
                problems.append(
                    FieldError(loc_to_path(here), "duplicate key", key_node.start_mark.line + 1)
                )
            lines[here] = key_node.start_mark.line + 1
            _walk(value_node, here, lines, problems, seen)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _walk(item, (*path, i), lines, problems, seen)
