"""Schema migrations with Alembic: one branch per block, upgraded together to ``heads``.

Infra's own tables live in ``baobab/infra/migrations/versions``; each block keeps its migrations
in ``baobab/<block>/adapters/migrations`` with ``branch_labels = ("<block>",)``.
"""

from __future__ import annotations

from collections.abc import Iterable
from importlib.resources import files
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from baobab.infra.database import Database


def _config(db: Database, blocks: Iterable[str]) -> Config:
    script_location = Path(str(files("baobab.infra") / "migrations"))
    locations = [script_location / "versions"]
    for block in blocks:
        location = Path(str(files(f"baobab.{block}") / "adapters" / "migrations"))
        if location.is_dir():
            locations.append(location)
    config = Config()
    config.set_main_option("script_location", str(script_location))
    config.set_main_option("version_locations", " ".join(str(p) for p in locations))
    config.set_main_option("path_separator", "space")
    config.attributes["engine"] = db.engine
    return config


def upgrade(db: Database, blocks: Iterable[str]) -> None:
    """Bring the schema of infra and of every named block to its newest revision."""
    command.upgrade(_config(db, blocks), "heads")


def pending(db: Database, blocks: Iterable[str]) -> set[str]:
    """Head revisions not yet applied; empty when the schema is current."""
    script = ScriptDirectory.from_config(_config(db, blocks))
    with db.engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_heads()
    # a head that another branch depends on is recorded only through its dependant
    applied = {rev.revision for rev in script.iterate_revisions(current, "base") if rev is not None}
    return set(script.get_heads()) - applied
