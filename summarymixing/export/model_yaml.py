"""The model definitions of a recipe YAML, resolved, without building them.

An encoder folder stores the ``frontend`` and ``encoder_wrapper`` of the
pre-training YAML (:data:`EXPORTED_KEYS`) with every reference resolved, so
that it is rebuilt without the recipe's other keys. :func:`resolved_values`
reads plain keys (sizes, seed, folders) the same way.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hyperpyyaml import resolve_references
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap

EXPORTED_KEYS = ("frontend", "encoder_wrapper")
"""The keys of a pre-training YAML an encoder folder keeps."""


def model_yaml(base_yaml: str | Path, overrides: dict[str, Any]) -> str:
    r"""Resolve a recipe YAML and keep only the exported model definitions.

    Parameters
    ----------
    base_yaml : str or Path
        A full hyperpyyaml file defining ``frontend`` and ``encoder_wrapper``
        (not an ``extends`` variant: see ``summarymixing.training.config``).
    overrides : dict
        Overrides to resolve it with.

    Returns
    -------
    str
        The ``hyperparams.yaml`` of an encoder folder.

    Example
    -------
    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "h.yaml"
    >>> _ = path.write_text(
    ...     "dim: 4\nlr: 1\nfrontend: !new:torch.nn.Linear [!ref <dim>, 2]\n"
    ...     "encoder_wrapper: !new:torch.nn.Identity\n"
    ... )
    >>> print(model_yaml(path, {"dim": 8}), end="")
    frontend: !new:torch.nn.Linear [8, 2]
    encoder_wrapper: !new:torch.nn.Identity
    """
    document = _resolved_document(base_yaml, overrides)
    missing = [key for key in EXPORTED_KEYS if key not in document]
    if missing:
        raise ValueError(
            f"{base_yaml} defines no {' and no '.join(missing)}: an encoder is "
            f"exported from a pre-training YAML defining {' and '.join(EXPORTED_KEYS)}"
        )
    subset = CommentedMap((key, document[key]) for key in EXPORTED_KEYS)
    stream = io.StringIO()
    YAML().dump(subset, stream)
    return stream.getvalue()


def resolved_values(
    base_yaml: str | Path, overrides: dict[str, Any], keys: Sequence[str]
) -> dict[str, Any]:
    r"""Read plain top-level values of a recipe YAML without building anything.

    References (``!ref``) are resolved; keys that are absent or hold an object
    (``!new:``, a mapping, a list) are left out.

    Parameters
    ----------
    base_yaml : str or Path
        A full hyperpyyaml file.
    overrides : dict
        Overrides to resolve it with.
    keys : Sequence of str
        The keys wanted.

    Returns
    -------
    dict
        Key -> ``bool``, ``int``, ``float`` or ``str`` value.

    Example
    -------
    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "h.yaml"
    >>> _ = path.write_text(
    ...     "seed: 1\nout: !ref runs/<seed>\nmodel: !new:torch.nn.Identity\n"
    ... )
    >>> resolved_values(path, {"seed": 7}, ["seed", "out", "model", "lr"])
    {'seed': 7, 'out': 'runs/7'}
    """
    document = _resolved_document(base_yaml, overrides)
    values = {}
    for key in keys:
        value = document.get(key)
        for kind in (bool, int, float, str):
            if isinstance(value, kind):
                values[key] = kind(value)
                break
    return values


def _resolved_document(base_yaml: str | Path, overrides: dict[str, Any]) -> Any:
    resolved = resolve_references(Path(base_yaml).read_text(), overrides).getvalue()
    return YAML().load(resolved)
