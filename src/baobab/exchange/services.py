"""The service registry: providers' services, registered, described and looked up.

Registering a service grants nobody anything: calling it needs an access right in the directory
(``DirectoryService.grant`` with ``ServiceRef(provider, code)``), deny by default. The gateway
reads services through :class:`ServiceCatalog`, a short-lived cache, so the hot path does not
pay a database round trip per message; a change made here is seen at once, one made in another
process within the cache's ``ttl``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from baobab.directory import ClientId, Subsystem
from baobab.exchange.domain import DuplicateService, Service, UnknownService
from baobab.exchange.ports import ClientDirectory, UnitOfWorkFactory
from baobab.exchange.rights import AccessPolicy
from baobab.kernel.audit import AuditEvent
from baobab.kernel.clock import Clock

EXCHANGE_SCOPES: dict[str, str] = {
    "exchange:call": "Call services through the exchange gateway; read one's own evidence",
    "exchange:read": "List services and clients, read the message log, monitoring and evidence",
    "exchange:admin": "Register and remove services of any provider",
}


class ServiceRegistry:
    """Register, describe and remove providers' services. Every change is audited."""

    def __init__(self, *, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock
        self._listeners: list[Callable[[], None]] = []

    def on_change(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` after every change (the catalog forgets its cache)."""
        self._listeners.append(listener)

    def _changed(self) -> None:
        for listener in self._listeners:
            listener()

    def register(
        self,
        *,
        actor: str,
        provider: ClientId,
        code: str,
        version: str,
        base_url: str,
        description: str = "",
        openapi: Mapping[str, Any] | None = None,
        personal_data: bool = False,
        agreement_id: str | None = None,
        purposes: Sequence[str] = (),
    ) -> Service:
        """Register a new service of ``provider`` reachable at ``base_url``."""
        service = Service(
            provider=provider,
            code=code,
            version=version,
            base_url=base_url.rstrip("/"),
            created_at=self._clock.now(),
            description=description,
            openapi=openapi,
            personal_data=personal_data,
            agreement_id=agreement_id,
            purposes=tuple(purposes),
        )
        with self._uow() as uow:
            if not uow.services.add_service(service):
                raise DuplicateService(f"{service.name} is already registered")
            uow.audit.append(
                AuditEvent(
                    "exchange.service_registered",
                    actor,
                    service.name,
                    details={"version": version, "personal_data": str(personal_data).lower()},
                ),
                at=self._clock.now(),
            )
        self._changed()
        return service

    def set_enabled(self, *, actor: str, provider: ClientId, code: str, enabled: bool) -> Service:
        """Switch a service on or off; a disabled service refuses every message."""
        with self._uow() as uow:
            service = uow.services.get_service(provider, code)
            if service is None:
                raise UnknownService(f"no service {provider}/{code}")
            changed = replace(service, enabled=enabled)
            uow.services.save_service(changed)
            action = "exchange.service_enabled" if enabled else "exchange.service_disabled"
            uow.audit.append(AuditEvent(action, actor, service.name), at=self._clock.now())
        self._changed()
        return changed

    def remove(self, *, actor: str, provider: ClientId, code: str) -> None:
        """Remove a service; its access rights stay in the directory but lead nowhere."""
        with self._uow() as uow:
            if not uow.services.remove_service(provider, code):
                raise UnknownService(f"no service {provider}/{code}")
            uow.audit.append(
                AuditEvent("exchange.service_removed", actor, f"{provider}/{code}"),
                at=self._clock.now(),
            )
        self._changed()

    def get(self, provider: ClientId, code: str) -> Service:
        with self._uow() as uow:
            service = uow.services.get_service(provider, code)
        if service is None:
            raise UnknownService(f"no service {provider}/{code}")
        return service

    def list(self, provider: ClientId | None = None) -> Sequence[Service]:
        with self._uow() as uow:
            return uow.services.list_services(provider)


class Discovery:
    """The GovStack IM / X-Road metaservices: list clients, list methods, allowed methods and
    a service's OpenAPI document."""

    def __init__(
        self,
        *,
        registry: ServiceRegistry,
        directory: ClientDirectory,
        policy: AccessPolicy | None = None,
    ) -> None:
        self._registry = registry
        self._directory = directory
        self._policy = policy

    def clients(self) -> list[tuple[Subsystem, str]]:
        """Every subsystem with its member's name (X-Road listClients)."""
        found: list[tuple[Subsystem, str]] = []
        for member in self._directory.list_members():
            _, subsystems = self._directory.get_member(member.id)
            found.extend((s, member.name) for s in subsystems)
        return found

    def services(self, provider: ClientId | None = None) -> Sequence[Service]:
        """Registered services, of one provider or all (X-Road listMethods)."""
        return self._registry.list(provider)

    def allowed(self, client: ClientId) -> list[Service]:
        """The enabled services ``client`` holds a right on — in the directory, or on some
        endpoint, itself or through a group (X-Road allowedMethods)."""
        granted = {r.service for r in self._directory.rights_of(client)}
        if self._policy is not None:
            granted |= self._policy.services_open_to(client)
        return [s for s in self._registry.list() if s.enabled and s.ref in granted]

    def openapi(self, provider: ClientId, code: str) -> Mapping[str, Any]:
        """The service's OpenAPI document (X-Road getOpenAPI)."""
        service = self._registry.get(provider, code)
        if service.openapi is None:
            raise UnknownService(f"{service.name} has no OpenAPI description")
        return service.openapi


class ServiceCatalog:
    """The gateway's view of the registry: services cached for ``ttl`` seconds (0: no cache).

    Unknown services are not cached, so a newly registered one is callable at once.
    """

    def __init__(
        self,
        registry: ServiceRegistry,
        *,
        ttl: float = 2.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._registry = registry
        self._ttl = ttl
        self._monotonic = monotonic
        self._cache: dict[tuple[ClientId, str], tuple[Service, float]] = {}
        registry.on_change(self._cache.clear)

    def cached(self, provider: ClientId, code: str) -> Service | None:
        """The service if it is in the cache and fresh; no database round trip."""
        cached = self._cache.get((provider, code))
        if cached is not None and cached[1] > self._monotonic():
            return cached[0]
        return None

    def get(self, provider: ClientId, code: str) -> Service:
        """The service, from the cache while fresh, else from the registry."""
        key = (provider, code)
        now = self._monotonic()
        cached = self._cache.get(key)
        if cached is not None and cached[1] > now:
            return cached[0]
        service = self._registry.get(provider, code)
        if self._ttl > 0:
            self._cache[key] = (service, now + self._ttl)
        return service
