"""Loading recipe YAML files that extend a shared base, with checked overrides.

A variant file (for example the attention baseline) contains only::

    extends: w2v2_base.yaml
    overrides:
      attention_type: regularMHA

so that the variants cannot drift apart. CLI overrides are applied on top, and
an override naming a key the YAML does not have is an error (hyperpyyaml would
silently add it, and a typo like ``--max_batch_lenght`` would go unnoticed for a
week of training).
"""

from __future__ import annotations

import difflib
import json
import re
from pathlib import Path
from typing import Any

import yaml

from summarymixing.resources import find_hparams_file, hparams_folder

TOP_LEVEL_KEY = re.compile(r"^([A-Za-z_][\w]*)\s*:", re.MULTILINE)
TOP_LEVEL_VALUE = re.compile(r"^([A-Za-z_]\w*)\s*:(.*)$", re.MULTILINE)


class _Yaml12Floats(yaml.SafeLoader):
    """PyYAML's safe loader, reading floats as YAML 1.2 (and hyperpyyaml) do.

    PyYAML follows YAML 1.1, where a float needs a dot: ``1e-4`` is the string
    ``'1e-4'``, and a learning rate written that way reached AdamW as text.
    """


_Yaml12Floats.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
        |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
        |\.[0-9_]+(?:[eE][-+]?[0-9]+)?
        |[-+]?\.(?:inf|Inf|INF)
        |\.(?:nan|NaN|NAN))$""",
        re.VERBOSE,
    ),
    list("-+0123456789."),
)


def load_yaml(text: str) -> Any:
    """Parse plain YAML (overrides, variant files) with YAML 1.2 numbers.

    What every recipe and benchmark uses to read command-line values, so that
    ``--lr 1e-4`` is the number hyperpyyaml would read from the YAML file.

    Example
    -------
    >>> load_yaml("lr: 1e-4")
    {'lr': 0.0001}
    >>> load_yaml("{seed: 3, name: 1e4x, steps: 10, scale: 2.5E+3, flag: true}")
    {'seed': 3, 'name': '1e4x', 'steps': 10, 'scale': 2500.0, 'flag': True}
    """
    return yaml.load(text, Loader=_Yaml12Floats)  # noqa: S506 (a SafeLoader)


def resolve_extends(path: str | Path) -> tuple[Path, dict[str, Any]]:
    r"""Follow ``extends`` chains down to the base file.

    Parameters
    ----------
    path : str or Path
        A recipe YAML file, either a full hyperpyyaml file or an ``extends`` one.

    Returns
    -------
    base : Path
        The full hyperpyyaml file at the bottom of the chain.
    overrides : dict
        The variant overrides collected on the way (outermost wins).

    Example
    -------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "base.yaml").write_text("lr: 1\nname: x\n")
    >>> variant = "# a comment\nextends: base.yaml\noverrides: {lr: 2}\n"
    >>> _ = (folder / "v.yaml").write_text(variant)
    >>> base, overrides = resolve_extends(folder / "v.yaml")
    >>> base.name, overrides
    ('base.yaml', {'lr': 2})
    """
    path = find_hparams_file(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"hyper-parameter file {path} does not exist; the recipes' files are in "
            "hparams/ (for example hparams/w2v2_summarymixing.yaml; the installed "
            f"package has them in {hparams_folder()})"
        )
    text = path.read_text()
    if "extends" not in top_level_keys(text):
        return path, {}
    spec = load_yaml(text)
    base, inherited = resolve_extends(path.parent / spec["extends"])
    return base, {**inherited, **(spec.get("overrides") or {})}


def top_level_keys(yaml_text: str) -> set[str]:
    r"""Return the keys defined at column 0 of a YAML text.

    Example
    -------
    >>> sorted(top_level_keys("a: 1\nb: !new:x\n  c: 2\n"))
    ['a', 'b']
    """
    return set(TOP_LEVEL_KEY.findall(yaml_text))


def check_override_keys(
    overrides: dict[str, Any], known: set[str], source: str
) -> None:
    """Raise a ValueError naming every override key the YAML does not define.

    Example
    -------
    >>> check_override_keys({"max_batch_lenght": 5}, {"max_batch_length"}, "h.yaml")
    Traceback (most recent call last):
    ...
    ValueError: h.yaml has no key 'max_batch_lenght' (did you mean max_batch_length?)
    """
    for key in overrides:
        if key not in known:
            close = difflib.get_close_matches(key, sorted(known), n=3)
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            raise ValueError(f"{source} has no key {key!r}{hint}")


def plain_defaults(yaml_text: str) -> dict[str, Any]:
    r"""Return the top-level keys whose value is a plain one-line YAML value.

    Tagged values (``!ref``, ``!new:``...), blocks and unparsable lines are
    left out: only plain defaults say what type a key expects.

    Example
    -------
    >>> plain_defaults("lr: 5e-4  # AdamW\nname: !ref <x>\nsizes: [1]\nb:\n  c: 1")
    {'lr': 0.0005, 'sizes': [1]}
    """
    defaults = {}
    for key, value in TOP_LEVEL_VALUE.findall(yaml_text):
        text = value.strip()
        if not text or text.startswith(("!", "#")):
            continue
        try:
            defaults[key] = load_yaml(text)
        except yaml.YAMLError:
            continue
    return defaults


def _expected_type(default: Any) -> tuple[str, tuple[type, ...]] | None:
    """Name and accepted types of an override of a key with this default."""
    if isinstance(default, bool):
        return "true or false", (bool,)
    if isinstance(default, (int, float)):
        return "a number", (int, float)
    if isinstance(default, list):
        return "a list, e.g. [1, 2]", (list,)
    return None  # strings and null take anything hyperpyyaml can load


def check_override_types(
    overrides: dict[str, Any], defaults: dict[str, Any], source: str
) -> None:
    """Raise a ValueError for an override whose type does not fit the default.

    Example
    -------
    >>> check_override_types({"lr": "abc"}, {"lr": 0.0005}, "h.yaml")
    Traceback (most recent call last):
    ...
    ValueError: --lr abc: lr must be a number (h.yaml has 0.0005), not the text 'abc'
    >>> check_override_types({"lr": 1, "flag": False}, {"lr": 0.1, "flag": True}, "h")
    """
    for key, value in overrides.items():
        expected = _expected_type(defaults.get(key))
        if expected is None or value is None:
            continue
        name, types = expected
        wrong_bool = isinstance(value, bool) and bool not in types
        if isinstance(value, types) and not wrong_bool:
            continue
        kind = "the text" if isinstance(value, str) else type(value).__name__
        raise ValueError(
            f"--{key} {value}: {key} must be {name} ({source} has "
            f"{json.dumps(defaults[key])}), not {kind} {value!r}"
        )


def merged_overrides(
    path: str | Path, cli_overrides: str | dict | None
) -> tuple[Path, dict]:
    r"""Return the base file and the overrides to load it with (variant, then CLI).

    Parameters
    ----------
    path : str or Path
        The YAML file given on the command line.
    cli_overrides : str or dict or None
        Overrides from the command line (YAML text as SpeechBrain gives them).

    Returns
    -------
    base : Path
        The file to load with hyperpyyaml.
    overrides : dict
        Checked overrides.

    Example
    -------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "base.yaml").write_text("lr: 1\nseed: 0\n")
    >>> merged_overrides(folder / "base.yaml", "seed: 4")[1]
    {'seed': 4}
    """
    base, overrides = resolve_extends(path)
    if isinstance(cli_overrides, str):
        cli_overrides = load_yaml(cli_overrides) or {}
    overrides = {**overrides, **(cli_overrides or {})}
    text = base.read_text()
    check_override_keys(overrides, top_level_keys(text), str(base))
    check_override_types(overrides, plain_defaults(text), base.name)
    return base, overrides


def configured_value(path: str | Path, cli_overrides: dict, key: str) -> Any:
    r"""Return a plain top-level ``key`` after the variant and CLI overrides.

    Used before the YAML is loaded (loading builds the model), e.g. to know
    whether the user gave a data folder anywhere.

    Example
    -------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "base.yaml").write_text("data_folder: /data\nlr: 1\n")
    >>> configured_value(folder / "base.yaml", {}, "data_folder")
    '/data'
    >>> configured_value(folder / "base.yaml", {"data_folder": None}, "data_folder")
    """
    base, variant = resolve_extends(path)
    overrides = {**variant, **cli_overrides}
    if key in overrides:
        return overrides[key]
    return plain_defaults(base.read_text()).get(key)
