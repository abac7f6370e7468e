"""Rendering of API answers for people (`table`) and for scripts (`json`, `yaml`).

Data goes to stdout and nothing else does: progress lines and errors go to stderr, so
`podium ops get X -o json | jq` always parses."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import yaml
from rich.console import Console
from rich.table import Table

from podium_cli.client import items_of


class OutputFormat(StrEnum):
    table = "table"
    json = "json"
    yaml = "yaml"


@dataclass(frozen=True)
class Column:
    header: str
    key: str  # dotted path into the object, e.g. "error.code"
    format: Callable[[Any], str] | None = None


def _console(stderr: bool = False) -> Console:
    # Built per call so tests that swap sys.stdout/sys.stderr see the output. Off a terminal the width is
    # fixed and wide, so a pipe into grep or awk never gets rows folded over several lines.
    stream = sys.stderr if stderr else sys.stdout
    width = None if stream.isatty() else 250
    return Console(file=stream, width=width, soft_wrap=False, highlight=False)


def lookup(obj: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        if not isinstance(obj, dict):
            return None
        obj = obj.get(part)
    return obj


def cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"), sort_keys=True, default=str)
    return str(value)


def render(data: Any, fmt: OutputFormat, columns: Sequence[Column] | None = None) -> None:
    if fmt is OutputFormat.json:
        sys.stdout.write(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")
    elif fmt is OutputFormat.yaml:
        sys.stdout.write(yaml.safe_dump(_plain(data), sort_keys=True, allow_unicode=True))
    elif isinstance(data, list):
        _render_rows(data, columns or _guess_columns(data))
    elif isinstance(data, dict):
        _render_object(data)
    else:
        sys.stdout.write(cell(data) + "\n")


def render_page(page: Any, fmt: OutputFormat, columns: Sequence[Column]) -> None:
    """A list answer: as-is for scripts; for people, its rows and the hint to fetch the next page."""
    if fmt is not OutputFormat.table:
        render(page, fmt)
        return
    rows, next_cursor = items_of(page)
    render(rows, fmt, columns)
    if next_cursor:
        info(f"more: --cursor {next_cursor}")


def _plain(data: Any) -> Any:
    # yaml.safe_dump refuses anything but plain types; the API's JSON already is, this guards the rest.
    return json.loads(json.dumps(data, default=str))


def _guess_columns(rows: list[Any]) -> list[Column]:
    keys: list[str] = []
    for row in rows[:50]:
        if isinstance(row, dict):
            keys.extend(k for k in row if k not in keys)
    return [Column(k.upper(), k) for k in keys]


def _render_rows(rows: list[Any], columns: Sequence[Column]) -> None:
    table = Table(box=None, pad_edge=False, show_edge=False, header_style="bold")
    for col in columns:
        table.add_column(col.header, overflow="fold")
    for row in rows:
        values = []
        for col in columns:
            value = lookup(row, col.key)
            values.append(col.format(value) if col.format else cell(value))
        table.add_row(*values)
    _console().print(table)


def _render_object(obj: dict[str, Any]) -> None:
    table = Table(box=None, show_header=False, pad_edge=False, show_edge=False)
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    for key, value in obj.items():
        table.add_row(key, cell(value))
    _console().print(table)


def info(message: str) -> None:
    """A line for the person at the terminal (stderr), never mixed into the data on stdout."""
    _console(stderr=True).print(message, markup=False)
