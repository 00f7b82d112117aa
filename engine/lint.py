"""`complaintflow lint`: the deploy-time checks, without deploying."""
from __future__ import annotations

from pathlib import Path

from . import definitions
from .config import Settings
from .xmlsafe import XmlLimits


def lint_paths(paths: list[Path], settings: Settings) -> list[dict]:
    """Every finding (errors, then warnings) for the files and directories given, linted as one deployment."""
    files: list[tuple[str, bytes]] = []
    forms_dirs: set[Path] = set()
    for path in paths:
        if path.is_dir():
            files += [(p.name, p.read_bytes()) for p in sorted(path.iterdir())
                      if p.is_file() and p.suffix in (".bpmn", ".dmn", ".json")]
            forms_dirs.add(path.resolve().parent / "forms")
        else:
            files.append((path.name, path.read_bytes()))
            forms_dirs.add(path.resolve().parent.parent / "forms")
    forms_dirs.add(settings.forms_dir)
    known: dict[str, bytes] = {}
    for forms_dir in forms_dirs:
        if forms_dir.is_dir():
            known.update({p.name: p.read_bytes() for p in sorted(forms_dir.glob("*.json"))})
    models = definitions.to_model_files(files, settings.max_model_bytes)
    builder = definitions.ModelBuilder(known, XmlLimits(settings.max_model_bytes))
    return builder.build(models).findings
