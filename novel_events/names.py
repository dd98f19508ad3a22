"""Every name the outside world sees, defined once: flows, deployments, tags, blocks, links.

Prefect, operators (``prefect deployment run 'novel-events-digest/user-dana'``), automations and the
web app all depend on these strings; build them here and nowhere else (docs/DESIGN.md, "Names").
"""

from __future__ import annotations

TAG = "novel-events"  # every deployment reconcile manages carries it
DIGEST_FLOW = "novel-events-digest"
MAINTENANCE_FLOW = "novel-events-reconcile"
MAINTENANCE_DEPLOYMENT = "maintenance"
RECOVERY_DEPLOYMENT = "recovery"  # the same flow, recovery sweep only, every minute
STATE_KEY_BLOCK = "novel-events-state-key"  # Secret block: the key of the incremental-sync state


def user_deployment(user_id: str) -> str:
    """A user's digest deployment name (``user-<id>``), unique within the digest flow."""
    return f"user-{user_id}"


def user_deployment_full_name(user_id: str) -> str:
    """``flow/deployment``, the name ``prefect deployment run`` and ``run_deployment`` take."""
    return f"{DIGEST_FLOW}/{user_deployment(user_id)}"


def user_tag(user_id: str) -> str:
    return f"user:{user_id}"


def grant_block_name(user_id: str) -> str:
    """The Prefect Secret block that holds a user's Google grant.

    Block names allow only a-z, 0-9 and '-': ids with '_' get a separate, hex-encoded name space
    (``novel-events-grant-<hex>``), so the mapping stays one-to-one and existing names don't move.
    """
    if "_" in user_id:
        return f"novel-events-grant-{user_id.encode().hex()}"
    return f"novel-events-google-{user_id}"


def unsubscribe_url(template: str | None, user_id: str) -> str | None:
    """``NOVEL_EVENTS_UNSUBSCRIBE_URL`` with ``{user_id}`` filled in; None when the setting is unset."""
    return template.replace("{user_id}", user_id) if template else None
