"""The working set of model files: the newest deployed content of every file name.

The browser editors change one or two files of this set; validating or deploying
always builds the whole set with those changes, so a diagram is checked together
with the processes it calls, the DMN tables it reads and the forms it binds.
``definitions.store`` then makes a new version only of the processes whose
content (own file, called files, DMN, forms) changed.
"""
from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .models import DeploymentFile


def current_files(session: Session) -> dict[str, tuple[str, str]]:
    """filename -> (kind, text) of the newest deployment that carried each file name."""
    newest = (select(DeploymentFile.filename, func.max(DeploymentFile.id).label("id"))
              .group_by(DeploymentFile.filename).subquery())
    rows = session.execute(
        select(DeploymentFile.filename, DeploymentFile.kind, DeploymentFile.content)
        .join(newest, newest.c.id == DeploymentFile.id)
        .order_by(DeploymentFile.filename)
    )
    return {filename: (kind, content) for filename, kind, content in rows}


def with_changes(session: Session, changes: list[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
    """The working set with ``changes`` (filename, content) replacing or adding files, as upload pairs."""
    files = {name: text.encode("utf-8") for name, (_kind, text) in current_files(session).items()}
    for name, content in changes:
        files[name] = content
    return sorted(files.items())
