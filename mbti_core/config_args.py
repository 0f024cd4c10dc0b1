"""Command-line options generated from a config dataclass, so a command does not mirror its fields by hand.

``add_config_arguments(parser, Config)`` adds one ``--field-name`` option per field, typed from its annotation,
with the dataclass default and, as help, the field's own comment in the class (``n_train: int = 4000  # texts
per task``: the project's way of documenting a field). ``config_from_args(Config, args)`` builds the config back.

- ``bool`` fields: ``--name`` when the default is False, ``--no-name`` when it is True.
- ``list[int]`` / ``list[str]``: ``nargs="+"``.
- ``X | None``: type X, default None.
- ``names`` renames an option (``report_path`` stays ``--report``); a name starting with ``--`` is the whole flag,
  and a bool's flag then turns its default over (``include_posts`` as ``--comments-only``). ``skip`` leaves fields
  to the command (a dict of encoders parsed from ``NAME=PATH``, say); ``choices`` and ``helps`` add to or replace
  what the class says.
- ``only_given=True`` leaves options that were not given out of the parsed namespace, so that
  ``config_from_args(..., base=preset)`` keeps a preset's values (``--tiny``) where the command line is silent;
  ``presets={"--tiny": tiny_config}`` shows, in the help, each field that preset changes.

Torch-free (data layer): the commands of every layer use it.
"""
from __future__ import annotations

import argparse
import dataclasses
import inspect
import io
import re
import tokenize
from functools import lru_cache

# The training loop's mixed_precision values (``training.loop.resolve_mixed_precision``), here so that parsing
# options needs no torch.
MIXED_PRECISION_CHOICES = ("auto", "no", "bf16", "fp16")

_FIELD_LINE = re.compile(r"^\s+(\w+)\s*:")
_SCALARS = {"int": int, "float": float, "str": str}


@lru_cache(maxsize=None)
def field_docs(cls) -> dict[str, str]:
    """Each field's trailing comment in the class source (``name: type = default  # the doc``), by field name."""
    try:
        source = inspect.getsource(cls)
    except (OSError, TypeError):
        return {}
    docs: dict[str, str] = {}
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT:
            match = _FIELD_LINE.match(token.line)
            if match and match.group(1) not in docs:
                docs[match.group(1)] = token.string.lstrip("#").strip()
    return docs


def _parse_annotation(annotation: str) -> tuple[str, type | None, bool]:
    """("scalar" | "list" | "bool", element type, optional) from an annotation string such as ``int | None``."""
    text = annotation.replace(" ", "")
    optional = text.endswith("|None") or text.startswith("None|")
    text = text.replace("|None", "").replace("None|", "")
    if text == "bool":
        return "bool", None, optional
    if text.startswith("list[") and text.endswith("]"):
        return "list", _SCALARS.get(text[5:-1], str), optional
    if text in _SCALARS:
        return "scalar", _SCALARS[text], optional
    raise TypeError(f"no command-line form for a field of type {annotation!r}")


def _default(field: dataclasses.Field):
    if field.default is not dataclasses.MISSING:
        return field.default
    if field.default_factory is not dataclasses.MISSING:
        return field.default_factory()
    return None


def _shown(value) -> str:
    return " ".join(map(str, value)) if isinstance(value, list) else str(value)


def add_config_arguments(parser: argparse.ArgumentParser, cls, *, skip=(), names: dict | None = None,
                         choices: dict | None = None, helps: dict | None = None, only_given: bool = False,
                         presets: dict | None = None) -> None:
    """One option per field of the dataclass ``cls`` (see the module docstring)."""
    names, choices, helps, docs = names or {}, choices or {}, helps or {}, field_docs(cls)
    plain = cls()
    changed = {label: {f.name: getattr(preset, f.name) for f in dataclasses.fields(cls)
                       if getattr(preset, f.name) != getattr(plain, f.name)} for label, preset in (presets or {}).items()}
    for field in dataclasses.fields(cls):
        if field.name in skip or field.name.startswith("_"):
            continue
        kind, element, _ = _parse_annotation(str(field.type))
        default = _default(field)
        name = names.get(field.name, field.name.replace("_", "-"))
        flag = name if name.startswith("--") else "--" + name
        text = (helps.get(field.name) or docs.get(field.name) or "").replace("%", "%%")  # argparse formats help
        if kind == "bool":
            if default and not name.startswith("--"):
                flag, text = "--no-" + flag[2:], f"turn off: {text}" if text else ""
            parser.add_argument(flag, dest=field.name, action="store_false" if default else "store_true",
                                help=text or None, **({"default": argparse.SUPPRESS} if only_given else {}))
            continue
        shown = [f"default: {_shown(default)}"] if default is not None else []  # else the comment explains None
        shown += [f"{label}: {_shown(values[field.name])}" for label, values in changed.items() if field.name in values]
        if shown:
            text = f"{text} ({'; '.join(shown)})" if text else "; ".join(shown)
        options = dict(dest=field.name, type=element, default=argparse.SUPPRESS if only_given else default,
                       help=text or None, metavar=flag[2:].upper().replace("-", "_"))
        if kind == "list":
            options["nargs"] = "+"
        if field.name in choices:
            options["choices"] = choices[field.name]
            del options["metavar"]  # argparse then lists the choices
        parser.add_argument(flag, **options)


def config_from_args(cls, args: argparse.Namespace, base=None, **overrides):
    """The ``cls`` config from parsed options; fields the namespace does not hold keep their value in ``base`` (a
    preset config), else the class default."""
    values = {f.name: getattr(args, f.name) for f in dataclasses.fields(cls) if hasattr(args, f.name)}
    values.update(overrides)
    return dataclasses.replace(base, **values) if base is not None else cls(**values)
