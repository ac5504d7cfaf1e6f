"""A SpeechBrain ``Checkpointer`` whose checkpoints appear atomically.

SpeechBrain writes a checkpoint's meta file (``CKPT.yaml``, the marker that makes
a folder count as a checkpoint) *before* the parameter files. A run killed while
saving therefore leaves a folder that looks complete, and the next start
recovers from truncated files. Here the meta file is written under a temporary
name and renamed into place (``os.replace``, atomic on POSIX) only after every
parameter file is on disk, so a checkpoint either exists whole or not at all.

Before a run resumes, :meth:`AtomicCheckpointer.check_matches` compares the
shapes in the newest checkpoint with the model just built, so that a folder
holding another model's checkpoints is one message naming the folder and the
fix, not dozens of ``size mismatch`` lines after the folder's
``hyperparams.yaml`` was already overwritten.

**Damaged checkpoints.** Atomic publishing cannot protect a checkpoint from
what happens to it later: a file deleted by hand, a copy between file systems
cut short, a bad disk sector. Each checkpoint's meta file therefore records
the size and SHA-256 of every file (``file_sha256``, computed once at save
time, about a second per GB). Before a checkpoint is used (to resume or to
check the model), its files are compared with that record; a damaged one is
named in the log, moved aside to ``save/damaged-CKPT+...`` (kept for
inspection, no longer a checkpoint), and the previous checkpoint is used
instead. Checkpoints written before the record existed are only checked for
missing files.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
from pathlib import Path

import torch
import yaml
from speechbrain.utils.checkpoints import METAFNAME, Checkpoint, Checkpointer
from speechbrain.utils.distributed import ddp_barrier, if_main_process

logger = logging.getLogger(__name__)

PENDING_SUFFIX = ".pending"
DIGESTS_KEY = "file_sha256"
DAMAGED_PREFIX = "damaged-"


class DamagedCheckpointsError(RuntimeError):
    """Every checkpoint of a folder is damaged: there is nothing to resume."""


class AtomicCheckpointer(Checkpointer):
    """``speechbrain.utils.checkpoints.Checkpointer`` with atomic checkpoints.

    Takes the same arguments. Unfinished checkpoint folders left by a killed
    run (no ``CKPT.yaml``) are removed when the checkpointer is created.

    Example
    -------
    >>> import tempfile, torch
    >>> folder = Path(tempfile.mkdtemp())
    >>> model = torch.nn.Linear(2, 2)
    >>> checkpointer = AtomicCheckpointer(folder, recoverables={"model": model})
    >>> checkpoint = checkpointer.save_checkpoint()
    >>> sorted(path.name for path in checkpoint.path.iterdir())
    ['CKPT.yaml', 'model.ckpt']
    """

    def __init__(self, checkpoints_dir: str | Path, *args, **kwargs) -> None:
        super().__init__(checkpoints_dir, *args, **kwargs)
        self.removed_unfinished: list[Path] = []
        self._damage: dict[Path, str | None] = {}
        self.set_aside: dict[Path, str] = {}
        if if_main_process():
            self._remove_unfinished()

    def check_matches(self) -> None:
        """Raise a ValueError if the newest checkpoint holds another model.

        Every ``torch.nn.Module`` recoverable is compared, tensor by tensor,
        with its file in the newest checkpoint (names and shapes; values are
        what resuming is for). No checkpoint: nothing to check.

        Example
        -------
        >>> import tempfile
        >>> folder = Path(tempfile.mkdtemp())
        >>> small = AtomicCheckpointer(folder, {"model": torch.nn.Linear(2, 2)})
        >>> _ = small.save_checkpoint()
        >>> AtomicCheckpointer(folder, {"model": torch.nn.Linear(2, 3)}).check_matches()
        Traceback (most recent call last):
        ...
        ValueError: ... holds checkpoints of another model: model.weight is [2, 2] there, [3, 2] here; model.bias is [2] there, [3] here. ...
        """  # noqa: E501
        checkpoint = self.newest_intact_checkpoint()
        if checkpoint is None:
            return
        differences = []
        for name, module in self.recoverables.items():
            path = checkpoint.paramfiles.get(name)
            if not isinstance(module, torch.nn.Module) or path is None:
                continue
            saved = torch.load(path, map_location="cpu", weights_only=True)
            differences += _shape_differences(name, saved, module.state_dict())
        if differences:
            shown = "; ".join(differences[:3])
            more = f" (and {len(differences) - 3} more)" if len(differences) > 3 else ""
            raise ValueError(
                f"{self.checkpoints_dir} holds checkpoints of another model: "
                f"{shown}{more}. Pass a new --output_folder for this model, or "
                "delete that folder to start over."
            )

    def newest_intact_checkpoint(self, **find_options) -> Checkpoint | None:
        """Find the checkpoint to resume from: the first intact one, newest first.

        ``find_options`` are those of ``find_checkpoints`` (``min_key``, ...).
        Damaged checkpoints on the way are logged and moved aside.

        Raises
        ------
        DamagedCheckpointsError
            When there are checkpoints and every one of them is damaged.

        Example
        -------
        >>> import tempfile
        >>> folder = Path(tempfile.mkdtemp())
        >>> checkpointer = AtomicCheckpointer(folder, {"model": torch.nn.Linear(2, 2)})
        >>> older = checkpointer.save_checkpoint(name="older")
        >>> newer = checkpointer.save_checkpoint(name="newer")
        >>> (newer.path / "model.ckpt").write_bytes(b"cut short")
        9
        >>> checkpointer.newest_intact_checkpoint().path.name
        'CKPT+older'
        >>> sorted(path.name for path in folder.iterdir())
        ['CKPT+older', 'damaged-CKPT+newer']
        """
        damaged, set_aside_before = [], len(self.set_aside)
        for checkpoint in self.find_checkpoints(**find_options):
            problem = self._damage_of(checkpoint)
            if problem is None:
                if len(self.set_aside) > set_aside_before:  # said once, not per call
                    logger.warning("resuming from %s instead", checkpoint.path)
                return checkpoint
            damaged.append(f"{checkpoint.path.name}: {problem}")
        if damaged:
            raise DamagedCheckpointsError(
                f"every checkpoint in {self.checkpoints_dir} is damaged "
                f"({'; '.join(damaged)}); they were moved to {DAMAGED_PREFIX}* "
                "folders there. Restore them from a copy, or run again to start "
                "from scratch."
            )
        return None

    def recover_if_possible(
        self, importance_key=None, max_key=None, min_key=None, ckpt_predicate=None
    ) -> Checkpoint | None:
        """Load the newest intact checkpoint (SpeechBrain's: the newest one).

        Example
        -------
        >>> import tempfile
        >>> folder, model = Path(tempfile.mkdtemp()), torch.nn.Linear(2, 2)
        >>> _ = AtomicCheckpointer(folder, {"model": model}).save_checkpoint()
        >>> (next(folder.glob("CKPT+*")) / "model.ckpt").unlink()
        >>> AtomicCheckpointer(folder, {"model": model}).recover_if_possible()
        Traceback (most recent call last):
        ...
        summarymixing.training.checkpointer.DamagedCheckpointsError: every checkpoint in ... is damaged (CKPT+...: model.ckpt is missing); ...
        """  # noqa: E501
        checkpoint = self.newest_intact_checkpoint(
            importance_key=importance_key,
            max_key=max_key,
            min_key=min_key,
            ckpt_predicate=ckpt_predicate,
        )
        if checkpoint is None:
            logger.info("Would load a checkpoint here, but none found yet.")
        else:
            self.load_checkpoint(checkpoint)
        return checkpoint

    def _damage_of(self, checkpoint: Checkpoint) -> str | None:
        """Describe what is wrong with a checkpoint (None: nothing); move it if so."""
        if checkpoint.path not in self._damage:
            problem = checkpoint_damage(checkpoint, self.recoverables)
            self._damage[checkpoint.path] = problem
            if problem is not None:
                self._set_aside(checkpoint.path, problem)
        return self._damage[checkpoint.path]

    def _set_aside(self, path: Path, problem: str) -> None:
        """Log a damaged checkpoint and (main process) rename it out of the way."""
        self.set_aside[path] = problem
        logger.warning(
            "checkpoint %s is damaged (%s): moved aside, not used", path, problem
        )
        if if_main_process():
            os.replace(path, path.with_name(DAMAGED_PREFIX + path.name))

    def _construct_checkpoint_objects(self, checkpoint_dirs):
        """SpeechBrain's, leaving out (and moving aside) unreadable meta files."""
        readable = []
        for path in checkpoint_dirs:
            try:
                meta = yaml.safe_load((path / METAFNAME).read_text(encoding="utf-8"))
            except FileNotFoundError:  # moved aside by the main process meanwhile
                continue
            except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
                meta = error
            if isinstance(meta, dict) and "unixtime" in meta:
                readable.append(path)
                continue
            self._set_aside(path, f"its {METAFNAME} cannot be read")
        return super()._construct_checkpoint_objects(readable)

    def _remove_unfinished(self) -> None:
        """Delete checkpoint folders whose meta file was never published."""
        for path in Path(self.checkpoints_dir).glob("CKPT+*"):
            if path.is_dir() and not (path / METAFNAME).exists():
                logger.warning("removing unfinished checkpoint %s", path)
                shutil.rmtree(path)
                self.removed_unfinished.append(path)

    def log_removed(self) -> None:
        """Log again the unfinished checkpoints removed and the damaged ones.

        The checkpointer is created (and checked) while the YAML loads, before
        the recipe opens its ``log.txt``; a recipe calls this once the log is
        open, so that the file, not only the console, says a save was
        interrupted or a checkpoint was set aside.
        """
        for path in self.removed_unfinished:
            logger.warning("removed unfinished checkpoint %s (a save was cut)", path)
        for path, problem in self.set_aside.items():
            aside = path.with_name(DAMAGED_PREFIX + path.name)
            logger.warning(
                "set aside damaged checkpoint %s (%s) as %s", path, problem, aside
            )

    def _save_checkpoint_metafile(self, fpath, meta_to_include=None, end_of_epoch=True):
        """Write the meta file under a temporary name; published after saving."""
        pending = Path(str(fpath) + PENDING_SUFFIX)
        return super()._save_checkpoint_metafile(
            pending, meta_to_include or {}, end_of_epoch
        )

    def save_checkpoint(self, *args, **kwargs) -> Checkpoint | None:
        """Save every recoverable, then publish the meta file atomically."""
        checkpoint = super().save_checkpoint(*args, **kwargs)
        if checkpoint is not None:
            meta = checkpoint.path / METAFNAME
            pending = Path(str(meta) + PENDING_SUFFIX)
            digests = {
                path.name: file_digest(path)
                for path in sorted(checkpoint.path.iterdir())
                if path != pending
            }
            checkpoint.meta[DIGESTS_KEY] = digests
            with open(pending, "a", encoding="utf-8") as stream:
                stream.write(yaml.dump({DIGESTS_KEY: digests}))
            os.replace(pending, meta)
        # Every rank must see the published checkpoint before listing
        # checkpoints again (SpeechBrain's deletion runs one collective per
        # deleted checkpoint, so ranks that list different sets deadlock).
        ddp_barrier()
        return checkpoint


def _shape_differences(name: str, saved: dict, current: dict) -> list[str]:
    """Describe the tensors whose name or shape differ between two state dicts."""

    def shape(tensor) -> str:
        return str(list(tensor.shape))

    differences = [
        f"{name}.{key} is {shape(saved[key])} there, {shape(value)} here"
        for key, value in current.items()
        if key in saved and saved[key].shape != value.shape
    ]
    differences += [f"{name}.{key} is not there" for key in current if key not in saved]
    differences += [f"{name}.{key} is not here" for key in saved if key not in current]
    return differences


def file_digest(path: Path) -> str:
    """``"<size>:<sha256>"`` of a file, read in 1 MiB blocks.

    Example
    -------
    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "x"
    >>> _ = path.write_bytes(b"abc")
    >>> file_digest(path)[:12]
    '3:ba7816bf8f'
    """
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while block := stream.read(1 << 20):
            digest.update(block)
    return f"{path.stat().st_size}:{digest.hexdigest()}"


def checkpoint_damage(checkpoint: Checkpoint, recoverables: dict) -> str | None:
    """Describe what is missing or changed in a checkpoint (None: intact).

    Files are compared with the sizes and digests its meta file records;
    without a record, only the recoverables' files are looked for.

    Example
    -------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> checkpointer = AtomicCheckpointer(folder, {"model": torch.nn.Linear(2, 2)})
    >>> checkpoint = checkpointer.save_checkpoint()
    >>> checkpoint_damage(checkpoint, checkpointer.recoverables) is None
    True
    >>> with open(checkpoint.path / "model.ckpt", "ab") as stream:
    ...     _ = stream.write(b"!")
    >>> checkpoint_damage(checkpoint, checkpointer.recoverables)
    'model.ckpt was changed or cut short since it was saved (... bytes, ... recorded)'
    """
    recorded = checkpoint.meta.get(DIGESTS_KEY)
    if recorded is None:
        recorded = {f"{name}.ckpt": None for name in recoverables}
    for name, expected in recorded.items():
        path = checkpoint.path / name
        if not path.is_file():
            return f"{name} is missing"
        if expected is None:
            continue
        found = file_digest(path)
        if found != expected:
            size, recorded_size = found.split(":")[0], expected.split(":")[0]
            return (
                f"{name} was changed or cut short since it was saved ({size} "
                f"bytes, {recorded_size} recorded)"
            )
    return None
