"""Parameter schemas of our flows, for the deployments' run forms in the UI.

Defined next to the maintenance flow (which needs them and imports the digest flow); this module
only re-exports, so the import graph stays one-way: schemas -> maintenance -> digest.
"""

from __future__ import annotations

from flows.maintenance import flow_schemas

__all__ = ["flow_schemas"]
