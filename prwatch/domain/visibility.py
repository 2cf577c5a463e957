"""What a caller may see: a set of installations and, within them, a set of repositories.

A thing outside a caller's visibility is answered exactly like a thing that does not exist.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Visibility:
    installation_ids: frozenset[int] | None  # None: every installation
    repository_ids: frozenset[int] | None  # None: every repository of those installations

    def allows(self, installation_id: int, repository_id: int) -> bool:
        return self.allows_installation(installation_id) and (
            self.repository_ids is None or repository_id in self.repository_ids
        )

    def allows_installation(self, installation_id: int) -> bool:
        """Whether anything of the installation may be seen (not necessarily all of it)."""
        return self.installation_ids is None or installation_id in self.installation_ids

    def sees_whole_installation(self, installation_id: int) -> bool:
        """Whether the installation's own records (not tied to one repository) may be seen."""
        return self.repository_ids is None and self.allows_installation(installation_id)

    @property
    def unrestricted(self) -> bool:
        return self.installation_ids is None and self.repository_ids is None


EVERYTHING = Visibility(None, None)
NOTHING = Visibility(frozenset(), frozenset())
