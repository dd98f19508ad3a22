"""What the worker already knows about a run and its server, handed to the run it forks so the run need not ask.

- **The sealing key** for cached extractions (``tasks/sealed.py``): read from its Secret block at most every
  5 minutes by the worker, not once per run (an API call, a block decryption and an event on the server).
- **The objects the run's events name** (``related.py``).
- **The server's default result storage.** Prefect's engine asks the API for it (``GET /admin/storage``) twice
  per run, each time through a new synchronous client. The worker asks at most every 5 minutes; a change made
  through the API (``PUT /admin/storage``) reaches runs within that time. If the worker could not ask, the run asks.
- **Whether the API wants CSRF tokens.** A run's client asks for one (``GET /csrf-token``) before its first
  write, and a server without CSRF protection answers 422, after which the client stops asking. The worker's
  own client has asked already (its polls are writes): when it learnt that the server has none, the run's
  client does not ask (``PREFECT_CLIENT_CSRF_SUPPORT_ENABLED=false`` in the run). A server that wants tokens
  gets them.

All of it travels as the forked process's arguments, never in its environment.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from uuid import UUID

    from deployments.worker.related import Related

_READERS = ("_read_server_default_result_storage_block_id", "_aread_server_default_result_storage_block_id")


class KnownStorage(NamedTuple):
    """The server's default result storage block, as the worker read it (None: the server has none)."""

    block_id: UUID | None


@dataclass(frozen=True)
class Handoff:
    sealing_key: bytes | None = None
    related: tuple[Related, ...] = ()
    storage: KnownStorage | None = None  # None: unknown, the run asks the API itself
    no_csrf: bool = False  # the API has no CSRF protection: the run's client need not ask for a token


def api_has_no_csrf(worker_client: Any) -> bool:
    """Whether the worker's own client found that the API has no CSRF protection (Prefect's client turns its
    CSRF support off when the token endpoint answers so)."""
    return getattr(getattr(worker_client, "_client", None), "enable_csrf_support", True) is False


def use_server_storage(storage: KnownStorage) -> bool:
    """In the run's process: answer Prefect's question for the server's default result storage with what the
    worker read. Returns False, changing nothing, if Prefect no longer asks through the functions this knows."""
    from prefect import results

    if not all(callable(getattr(results, name, None)) for name in _READERS):
        return False

    def read() -> UUID | None:
        return storage.block_id

    async def aread() -> UUID | None:
        return storage.block_id

    setattr(results, _READERS[0], read)
    setattr(results, _READERS[1], aread)
    return True
