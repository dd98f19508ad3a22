"""What tests share besides fixtures: import helpers from here, never from a ``conftest.py``.

- ``env``: the repo root, environment helpers, unique ids.
- ``prefect``: helpers for the tests that talk to the session's Prefect server.
- ``google``: the Google adapter tests' calendar data and per-test account on the fake.
"""
