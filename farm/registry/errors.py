"""What can go wrong with the registry, in words an operator can act on.

Every message names the registry by its URL with the password masked; none
carries a secret.
"""

from __future__ import annotations


class RegistryError(Exception):
    """Base class of the registry's errors."""


class RegistryUnavailable(RegistryError):
    """The database cannot be reached or opened."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"cannot reach the registry at {url}: {reason}")
        self.url = url
        self.reason = reason


class RegistryNotCreated(RegistryError):
    """The database is reachable but holds no registry yet."""

    def __init__(self, url: str) -> None:
        super().__init__(
            f"there is no registry at {url} yet; run 'farm registry upgrade' to create it"
        )
        self.url = url


class RegistryOutdated(RegistryError):
    """The registry's schema is older than this version of the farm expects."""

    def __init__(self, url: str, current: str, expected: str) -> None:
        super().__init__(
            f"the registry at {url} has schema {current} and this farm expects {expected}; "
            "run 'farm registry upgrade'"
        )
        self.url = url
        self.current = current
        self.expected = expected


class RegistryTooNew(RegistryError):
    """The registry was upgraded by a newer version of the farm: it is left untouched."""

    def __init__(self, url: str, current: str) -> None:
        super().__init__(
            f"the registry at {url} has schema {current}, which this version of the farm "
            "does not know (it was upgraded by a newer version); nothing was written. "
            "Upgrade the farm software, or point --registry elsewhere"
        )
        self.url = url
        self.current = current


class UnknownRun(RegistryError):
    """A run id that the registry does not hold."""

    def __init__(self, run_id: int) -> None:
        super().__init__(f"there is no run {run_id} in the registry; 'farm runs' lists them")
        self.run_id = run_id


class UnknownTenantReport(RegistryError):
    """A run that has no report for the tenant asked for."""

    def __init__(self, run_id: int, tenant: str) -> None:
        super().__init__(f"run {run_id} has no report for tenant {tenant}")
        self.run_id = run_id
        self.tenant = tenant


class InconsistentFarm(RegistryError):
    """A farm handed to the registry contradicts itself; nothing was written."""
