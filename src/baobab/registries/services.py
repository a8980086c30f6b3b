"""Registry use cases: define registries and versions, grant rights, and create, read, search,
update and delete records, each change a revision in the registry's hash chain. Each group of
use cases lives in its own module; this one puts them together behind one facade."""

from __future__ import annotations

from baobab.registries.definitions import DefinitionUseCases
from baobab.registries.history import HistoryUseCases
from baobab.registries.reads import MAX_PAGE_SIZE, ReadUseCases
from baobab.registries.writes import WriteUseCases

REGISTRIES_SCOPES: dict[str, str] = {
    "registries:read": "Read, search and check records of registries the subsystem has rights to",
    "registries:write": "Create, update, delete and import records (per-registry rights apply)",
    "registries:admin": "Define registries and versions, grant per-registry rights",
}
__all__ = ["MAX_PAGE_SIZE", "REGISTRIES_SCOPES", "RegistryService"]


class RegistryService(DefinitionUseCases, HistoryUseCases, WriteUseCases, ReadUseCases):
    """Use cases of the registries block. ``caller`` is who acts; rights are checked per
    registry and operation unless the caller is an operator at the console."""
