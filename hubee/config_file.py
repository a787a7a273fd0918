"""A YAML settings file checked against a JSON Schema, with errors located by line.

``load_config_file(path, schema)`` parses the file once with PyYAML, keeping the node
tree (``yaml.compose``) beside the data, validates the data with ``jsonschema`` and maps
each error's key path back to the node it came from, so that every problem reads::

    /var/lib/sceau/gateway.yaml:12:3: checkpoint_entries: expected an integer ≥ 1, got "ten"
    /var/lib/sceau/gateway.yaml:7:1: unknown key "lan_prot" (did you mean "lan_port"?)

Why here: the gateway and the hub both read such a file and may share code only through
``trust`` and ``hubee``; ``trust`` must not import YAML. This module knows nothing of
HubEE (it is plain "YAML + schema → located errors"), so placing it in ``hubee`` costs
the engine nothing and spares two copies. It raises :class:`ConfigFileError` (a
``ValueError``, outside the engine's HubError hierarchy on purpose): each caller turns it
into its own configuration error (``GatewayConfigError``, ``HubConfigError``), which the
CLI maps to exit code 3.

Schemas may carry an ``x-expected`` keyword (ignored by the validator): the words used
for "expected …" when a value fails a pattern or format, e.g. "a 14-digit SIRET".
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import yaml

MAX_REPORTED = 20  # problems listed at once; the rest are counted


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the file, where it is and what was expected."""

    line: int  # 1-based
    column: int  # 1-based
    key_path: str  # "console.smtp.port", "folders[0].side", "" for the whole file
    message: str

    def render(self, file: str) -> str:
        where = f"{file}:{self.line}:{self.column}"
        return (
            f"{where}: {self.key_path}: {self.message}"
            if self.key_path
            else f"{where}: {self.message}"
        )


class ConfigFileError(ValueError):
    """The settings file is missing, unreadable, not YAML, or not what the schema wants."""

    def __init__(self, file: Path, problems: list[Problem], *, missing: bool = False) -> None:
        self.file = file
        self.problems = problems
        self.missing = missing
        lines = [p.render(str(file)) for p in problems[:MAX_REPORTED]]
        if len(problems) > MAX_REPORTED:
            lines.append(f"… and {len(problems) - MAX_REPORTED} more problem(s)")
        super().__init__("\n".join(lines))
        self.message = "\n".join(lines)


def load_config_file(path: Path, schema: Mapping[str, Any]) -> dict[str, Any]:
    """The file's top-level mapping, valid against ``schema``; else :class:`ConfigFileError`."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigFileError(path, [Problem(1, 1, "", "no such file")], missing=True) from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ConfigFileError(path, [Problem(1, 1, "", f"cannot read: {reason}")]) from None
    return parse_config_text(text, schema, file=path)


def parse_config_text(text: str, schema: Mapping[str, Any], *, file: Path) -> dict[str, Any]:
    """Like :func:`load_config_file`, on text already read (``file`` names it in errors)."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        what = str(exc.problem or "cannot parse")
        if exc.context and exc.context_mark is not None:
            what += f" ({exc.context} started at line {exc.context_mark.line + 1})"
        raise ConfigFileError(
            file, [Problem(line, column, "", f"YAML syntax error: {what}")]
        ) from None
    except yaml.YAMLError as exc:
        raise ConfigFileError(file, [Problem(1, 1, "", f"YAML syntax error: {exc}")]) from None
    finally:
        loader.dispose()
    if node is None or not isinstance(data, dict):
        line = node.start_mark.line + 1 if node is not None else 1
        raise ConfigFileError(
            file, [Problem(line, 1, "", "expected a mapping of settings (key: value lines)")]
        )
    problems = _duplicate_keys(node, ())
    validator = jsonschema.Draft202012Validator(schema)
    for error in validator.iter_errors(data):
        problems.extend(_problems(error, node))
    if problems:
        problems.sort(key=lambda p: (p.line, p.column, p.key_path))
        raise ConfigFileError(file, problems)
    return data


def _problems(error: jsonschema.ValidationError, root: yaml.Node) -> list[Problem]:
    path = tuple(error.absolute_path)
    node = _node_at(root, path)
    mark = node.start_mark
    here = (mark.line + 1, mark.column + 1)
    keyword = error.validator
    sub = error.schema if isinstance(error.schema, Mapping) else {}
    if keyword == "additionalProperties" and isinstance(error.instance, dict):
        known = list(sub.get("properties", {}))
        out = []
        for key in sorted(set(error.instance) - set(known), key=str):
            key_node = _key_node(node, key)
            kmark = key_node.start_mark if key_node is not None else mark
            message = f"unknown key {json.dumps(key)}"
            close = difflib.get_close_matches(str(key), known, n=1, cutoff=0.6)
            if close:
                message += f" (did you mean {json.dumps(close[0])}?)"
            else:
                message += " (known keys: " + ", ".join(sorted(known)) + ")"
            out.append(Problem(kmark.line + 1, kmark.column + 1, _dotted(path), message))
        return out
    if keyword == "required":
        missing = next(iter(error.validator_value), "?")
        if isinstance(error.instance, dict):
            missing = next((k for k in error.validator_value if k not in error.instance), missing)
        return [Problem(*here, _dotted(path), f"missing required key {json.dumps(missing)}")]
    got = _show(error.instance)
    if keyword in {
        "type",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "enum",
        "const",
        "pattern",
        "format",
        "minLength",
        "maxLength",
    }:
        return [Problem(*here, _dotted(path), f"expected {expected(sub)}, got {got}")]
    if keyword in {"minItems", "maxItems", "uniqueItems"}:
        return [Problem(*here, _dotted(path), f"{error.message}")]
    return [Problem(*here, _dotted(path), error.message)]


def expected(schema: Mapping[str, Any]) -> str:
    """What a schema wants, in words: "an integer ≥ 1", "one of "OSL", "SI"", …"""
    if "x-expected" in schema:
        words = str(schema["x-expected"])
    elif "enum" in schema:
        words = "one of " + ", ".join(_show(v) for v in schema["enum"])
    elif "const" in schema:
        words = _show(schema["const"])
    else:
        kinds = schema.get("type", [])
        kinds = [kinds] if isinstance(kinds, str) else list(kinds)
        names = [_KIND.get(k, k) for k in kinds if k != "null"] or ["a value"]
        words = " or ".join(names)
        bounds = [
            f"{sign} {_show(schema[key])}"
            for key, sign in (
                ("minimum", "≥"),
                ("exclusiveMinimum", ">"),
                ("maximum", "≤"),
                ("exclusiveMaximum", "<"),
            )
            if key in schema
        ]
        if bounds:
            words += " " + " and ".join(bounds)
        if "minLength" in schema and schema["minLength"] > 0:
            words += " (not empty)"
        if "pattern" in schema:
            words += f" matching {schema['pattern']}"
    kinds = schema.get("type", [])
    if "null" in ([kinds] if isinstance(kinds, str) else kinds) and "x-expected" not in schema:
        words += " (or null)"
    return words


_KIND = {
    "integer": "an integer",
    "number": "a number",
    "string": "a string",
    "boolean": "true or false",
    "array": "a list",
    "object": "a mapping",
}


def _show(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 60 else text[:57] + "…"


def _dotted(path: Iterable[object]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _key_node(node: yaml.Node, key: object) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for key_node, _ in node.value:
            if key_node.value == str(key):
                return key_node  # type: ignore[no-any-return]
    return None


def _node_at(root: yaml.Node, path: tuple[object, ...]) -> yaml.Node:
    """The node at ``path`` (its deepest existing ancestor if the path runs out)."""
    node = root
    for part in path:
        child: yaml.Node | None = None
        if isinstance(node, yaml.MappingNode):
            child = next((v for k, v in node.value if k.value == str(part)), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            child = node.value[part] if 0 <= part < len(node.value) else None
        if child is None:
            return node
        node = child
    return node


def _duplicate_keys(node: yaml.Node, path: tuple[object, ...]) -> list[Problem]:
    """PyYAML keeps the last of two equal keys silently; a hand-edited file means a mistake."""
    out: list[Problem] = []
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            if key in seen:
                mark = key_node.start_mark
                out.append(
                    Problem(
                        mark.line + 1,
                        mark.column + 1,
                        _dotted(path),
                        f"duplicate key {json.dumps(key)}",
                    )
                )
            seen.add(key)
            out.extend(_duplicate_keys(value_node, (*path, key)))
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            out.extend(_duplicate_keys(item, (*path, index)))
    return out
