"""A mapping says how one CRM's columns become Unstuck's deal fields.

The mapped-CSV format reads it from TOML (`--mapping mapping.toml`); the Salesforce and HubSpot
readers build theirs from the headers they find; the web wizard edits and saves one. The same
`Mapping.deal_row` turns a row into a DealRow for all of them.
"""

from __future__ import annotations

import functools
import json
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from unstuck.core.errors import UnstuckError
from unstuck.imports.parsing import (
    FileProblem,
)

# field → what it means, in the order the wizard shows them
DEAL_FIELDS = {
    "external_id": "The deal's id in the CRM (required)",
    "name": "Deal name",
    "stage": "Stage (required)",
    "pipeline": "Pipeline",
    "amount": "Amount",
    "currency": "Currency code",
    "close_date": "Close date",
    "created_at": "Created date",
    "owner": "Owner (email or name)",
    "account": "Account (id or name)",
    "next_step": "Next step",
    "probability": "Probability (%)",
    "last_activity_at": "Last activity date",
    "stage_entered_at": "Date the current stage began",
    "is_won": "Won? (true/false)",
    "is_closed": "Closed? (true/false)",
}
REQUIRED = ("external_id", "stage")
HISTORY_FIELDS = ("deal", "stage", "entered_at", "amount", "close_date")
# What to do with rows of one file that share an id but differ: refuse them, or keep one.
ON_CONFLICT = ("reject", "first", "last")
_EMAIL = re.compile(r"[\w.+'-]+@[\w-]+(\.[\w-]+)+")
_TEMPLATE = re.compile(r"\{([^{}]+)\}")
_WON = re.compile(r"\b(closed[\s_-]*)?won\b|^won$", re.I)
_LOST = re.compile(r"\b(closed[\s_-]*)?lost\b|^lost$|^loss$", re.I)


@functools.lru_cache(maxsize=4096)
def person_of(owner: str) -> tuple[str, str]:
    """(email, name) from "Jane Doe <jane@x.com>", "Jane Doe (jane@x.com)", an address or a name."""
    email = _EMAIL.search(owner)
    if email:
        return email.group(0).lower(), owner[: email.start()].strip(" <(\t")
    return "", owner


@functools.lru_cache(maxsize=4096)
def kind_from_name(stage: str) -> str:
    """A guess for stages the export does not classify: 'Closed Won' is won, and so on."""
    if _WON.search(stage):
        return "won"
    if _LOST.search(stage):
        return "lost"
    return "open"


@dataclass
class Companion:
    """A file beside the deals file joined on a key: accounts, owners, or a lookup table."""

    path: str
    key: str  # column in the companion
    join: str  # column in the deals file
    columns: dict[str, str] = field(default_factory=dict)  # field → column (accounts)
    custom: list[str] = field(default_factory=list)  # copied into custom attributes
    replace: dict[str, str] = field(default_factory=dict)  # deals-file value → companion key


@dataclass
class Mapping:
    source: str
    columns: dict[str, str]  # field → column or "{template}"
    pipeline: str = ""  # the one pipeline, when no column names it
    currency: str = ""
    stage_order: list[str] = field(default_factory=list)
    stage_rename: dict[str, str] = field(default_factory=dict)
    won: list[str] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)
    strict_stages: bool = False  # only the listed stages are allowed
    stage_dates: list[tuple[str, str, str]] = field(default_factory=list)  # stage, pipeline, col
    date_formats: tuple[str, ...] = ()
    dayfirst: bool = False
    decimal: str | None = None
    custom: list[str] = field(default_factory=list)
    history: dict[str, str] = field(default_factory=dict)  # HISTORY_FIELDS → column
    accounts: Companion | None = None
    owners: Companion | None = None
    lookups: list[Companion] = field(default_factory=list)
    on_conflict: str = "reject"  # conflicting duplicate ids: reject, first or last
    optional_columns: bool = False  # built-in mappings skip fields whose column is absent

    # --- building -------------------------------------------------------------------------
    @classmethod
    def from_toml(cls, path: Path) -> Mapping:
        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise UnstuckError(f"The mapping file {path} does not exist.") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise UnstuckError(f"The mapping file {path} is not valid TOML: {exc}") from None
        return cls.from_dict(data, where=str(path))

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, where: str = "the mapping") -> Mapping:
        def fail(message: str) -> UnstuckError:
            return UnstuckError(f"{where}: {message}")

        columns = dict(data.get("columns", {}))
        unknown = sorted(set(columns) - set(DEAL_FIELDS))
        if unknown:
            raise fail(
                f"unknown field(s) {', '.join(unknown)} in [columns]; use {', '.join(DEAL_FIELDS)}."
            )
        missing = [f for f in REQUIRED if not columns.get(f)]
        if missing:
            raise fail(f"[columns] must name the column for {', '.join(missing)}.")
        stages = data.get("stages", {})
        dates = data.get("dates", {})
        amounts = data.get("amounts", {})
        history = dict(data.get("history", {}))
        if history and not {"deal", "stage", "entered_at"} <= set(history):
            raise fail("[history] needs the columns deal, stage and entered_at.")
        on_conflict = data.get("duplicates", {}).get("on_conflict", "reject")
        if on_conflict not in ON_CONFLICT:
            raise fail("[duplicates] on_conflict is one of reject, first, last.")
        companions = data.get("files", {})

        def companion(spec: dict[str, Any]) -> Companion:
            for key in ("path", "key", "join"):
                if key not in spec:
                    raise fail(f"a companion file needs '{key}'.")
            return Companion(
                path=spec["path"],
                key=spec["key"],
                join=spec["join"],
                columns=dict(spec.get("columns", {})),
                custom=list(spec.get("custom", [])),
                replace=dict(spec.get("replace", {})),
            )

        return cls(
            source=str(data.get("source", "csv"))[:30],
            columns=columns,
            pipeline=str(data.get("pipeline", "")),
            currency=str(amounts.get("currency", data.get("currency", ""))),
            stage_order=list(stages.get("order", [])),
            stage_rename=dict(stages.get("rename", {})),
            won=list(stages.get("won", [])),
            lost=list(stages.get("lost", [])),
            strict_stages=bool(stages.get("only_these", bool(stages.get("order")))),
            stage_dates=[(s, "", c) for s, c in data.get("stage_dates", {}).items()],
            date_formats=tuple(dates.get("formats", ())),
            dayfirst=bool(dates.get("dayfirst", False)),
            decimal=amounts.get("decimal"),
            custom=list(data.get("custom", {}).get("columns", [])),
            history=history,
            accounts=companion(companions["accounts"]) if "accounts" in companions else None,
            owners=companion(companions["owners"]) if "owners" in companions else None,
            lookups=[companion(spec) for spec in companions.get("lookups", [])],
            on_conflict=on_conflict,
        )

    def to_dict(self) -> dict[str, Any]:
        """The TOML-shaped form: what the wizard keeps, and (`to_toml`) what it downloads for
        the CLI. `from_dict(m.to_dict())` gives the same mapping back."""

        def companion(comp: Companion) -> dict[str, Any]:
            return {
                "path": comp.path,
                "key": comp.key,
                "join": comp.join,
                **({"columns": comp.columns} if comp.columns else {}),
                **({"custom": comp.custom} if comp.custom else {}),
                **({"replace": comp.replace} if comp.replace else {}),
            }

        files: dict[str, Any] = {}
        if self.accounts:
            files["accounts"] = companion(self.accounts)
        if self.owners:
            files["owners"] = companion(self.owners)
        if self.lookups:
            files["lookups"] = [companion(c) for c in self.lookups]
        return {
            "source": self.source,
            "pipeline": self.pipeline,
            "columns": self.columns,
            "stages": {
                "order": self.stage_order,
                "rename": self.stage_rename,
                "won": self.won,
                "lost": self.lost,
                "only_these": self.strict_stages,
            },
            **({"stage_dates": {s: c for s, _, c in self.stage_dates}} if self.stage_dates else {}),
            "dates": {"formats": list(self.date_formats), "dayfirst": self.dayfirst},
            "amounts": {
                "currency": self.currency,
                **({"decimal": self.decimal} if self.decimal else {}),
            },
            "custom": {"columns": self.custom},
            "duplicates": {"on_conflict": self.on_conflict},
            **({"history": self.history} if self.history else {}),
            **({"files": files} if files else {}),
        }

    def to_toml(self) -> str:
        """The mapping as a TOML file for `unstuck import csv --mapping`."""
        return to_toml(self.to_dict())

    # --- checking headers -----------------------------------------------------------------
    def referenced(self, spec: str) -> list[str]:
        found = _TEMPLATE.findall(spec)
        return found if found else [spec]

    def check_headers(self, headers: list[str], *, file: str) -> None:
        """Missing columns: one message naming them and the headers found."""
        present = set(headers)
        needed: list[str] = []
        for fld, spec in self.columns.items():
            if not spec:
                continue
            cols = self.referenced(spec)
            if self.optional_columns and fld not in REQUIRED:
                continue
            needed += [c for c in cols if c not in present]
        needed += [c for _, _, c in self.stage_dates if c not in present]
        needed += [c for c in self.custom if c not in present and not self.optional_columns]
        for comp in [self.accounts, self.owners, *self.lookups]:
            if comp and comp.join not in present:
                needed.append(comp.join)
        if needed:
            missing = list(dict.fromkeys(needed))
            raise FileProblem(
                f"{file}: missing required column(s): {', '.join(missing)}. "
                f"Headers found: {', '.join(headers) or '(none)'}."
            )
        if self.optional_columns:
            self.columns = {
                f: s
                for f, s in self.columns.items()
                if all(c in present for c in self.referenced(s))
            }
            self.custom = [c for c in self.custom if c in present]

    def check_history_headers(self, headers: list[str], *, file: str) -> None:
        missing = [c for f, c in self.history.items() if c and c not in headers]
        if missing:
            raise FileProblem(
                f"{file}: missing required column(s): {', '.join(missing)}. "
                f"Headers found: {', '.join(headers) or '(none)'}."
            )

    # --- rows -----------------------------------------------------------------------------
    def value(self, fld: str, row: dict[str, str]) -> str:
        spec = self.columns.get(fld)
        if not spec:
            return ""
        if spec in row:
            return row[spec].strip()
        if "{" in spec:
            text = _TEMPLATE.sub(lambda m: row.get(m.group(1), "").strip(), spec)
            return text.strip(" -/|,\u2014\u2013")
        return row.get(spec, "").strip()

    def stage_name(self, raw: str) -> str:
        return self.stage_rename.get(raw, raw)

    def stage_kind(self, stage: str) -> str:
        if stage in self.won:
            return "won"
        if stage in self.lost:
            return "lost"
        if self.won or self.lost:
            return "open"
        return ""


# --- writing TOML ---------------------------------------------------------------------------
# The standard library reads TOML but does not write it; a mapping's shape is small (strings,
# booleans, lists of strings, tables, one array of tables), so it is written here.
_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def _key(key: str) -> str:
    return key if _BARE_KEY.match(key) else json.dumps(key, ensure_ascii=False)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        # A JSON string is a valid TOML basic string (same escapes).
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):
        inner = ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items())
        return "{ " + inner + " }" if inner else "{}"
    raise TypeError(f"Cannot write {type(value).__name__} as TOML")


def _table(lines: list[str], name: str, data: dict[str, Any]) -> None:
    plain = {k: v for k, v in data.items() if not isinstance(v, dict) and not _tables(v)}
    nested = {k: v for k, v in data.items() if k not in plain}
    if name and (plain or not nested):
        lines += ["", f"[{name}]"]
    lines += [f"{_key(k)} = {_value(v)}" for k, v in plain.items()]
    for k, v in nested.items():
        child = f"{name}.{_key(k)}" if name else _key(k)
        if isinstance(v, dict):
            _table(lines, child, v)
        else:
            for item in v:
                lines += ["", f"[[{child}]]"]
                lines += [f"{_key(ik)} = {_value(iv)}" for ik, iv in item.items()]


def _tables(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


def to_toml(data: dict[str, Any]) -> str:
    lines: list[str] = [
        "# A mapping for `unstuck import csv --mapping THIS_FILE DEALS.csv`, built in the web",
        "# import wizard. Companion files (files.*) are looked for beside the deals file.",
    ]
    _table(lines, "", data)
    return "\n".join(lines).strip() + "\n"
