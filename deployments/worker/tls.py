"""A small CA bundle for runs whose Prefect API is plain ``http://``.

Prefect builds a verified TLS context for every API client a run opens (its log and event workers, the
engine's sync and async clients, the suspension observer, the version check: seven per digest), each one
parsing certifi's whole bundle (~140 certificates, ~17 ms of CPU here), even when the API URL is
``http://`` and no TLS handshake ever happens. For such an API the worker points the run's
``PREFECT_API_SSL_CERT_FILE`` (read only for Prefect API connections) at a bundle of one certifi root: the
same seven contexts cost ~0.2 ms. Nothing is weakened: there is no TLS to verify, and a handshake that did
happen (an https redirect) could trust only that one public root, so it fails closed. An https API, or an
operator's own ``PREFECT_API_SSL_CERT_FILE``, is left as it is.
"""

from __future__ import annotations

import atexit
import functools
import shutil
import tempfile
from collections.abc import MutableMapping
from pathlib import Path

CA_FILE_SETTING = "PREFECT_API_SSL_CERT_FILE"
_BEGIN, _END = "-----BEGIN CERTIFICATE-----", "-----END CERTIFICATE-----"


def first_certificate(bundle: str) -> str:
    """The first PEM certificate of ``bundle``; ValueError if it holds none."""
    start = bundle.find(_BEGIN)
    end = bundle.find(_END, start)
    if start < 0 or end < 0:
        raise ValueError("no PEM certificate in the CA bundle")
    return bundle[start : end + len(_END)] + "\n"


@functools.lru_cache(maxsize=1)
def small_ca_file() -> str:
    """Path of the one-root bundle, written once per worker into a private directory removed at exit."""
    import certifi

    folder = Path(tempfile.mkdtemp(prefix="novel-events-ca-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    path = folder / "one-root.pem"
    path.write_text(first_certificate(Path(certifi.where()).read_text()))
    return str(path)


def use_small_ca_for_plain_http(env: MutableMapping[str, str | None]) -> None:
    """Point a run's environment at :func:`small_ca_file` when its Prefect API is ``http://``."""
    api = (env.get("PREFECT_API_URL") or "").strip().lower()
    if api.startswith("http://") and not env.get(CA_FILE_SETTING):
        env[CA_FILE_SETTING] = small_ca_file()
