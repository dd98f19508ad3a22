"""Parameter schemas of our flows, for the deployments' run forms in the UI."""

from __future__ import annotations

from functools import cache
from typing import Any

from prefect.utilities.callables import parameter_schema


@cache
def flow_schemas() -> dict[str, dict[str, Any]]:
    from flows.digest import FLOW_NAME as DIGEST
    from flows.digest import digest_flow
    from flows.maintenance import FLOW_NAME as MAINT
    from flows.maintenance import reconcile_flow

    return {
        DIGEST: parameter_schema(digest_flow.fn).model_dump_for_openapi(),
        MAINT: parameter_schema(reconcile_flow.fn).model_dump_for_openapi(),
    }
