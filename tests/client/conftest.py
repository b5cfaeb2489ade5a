"""Fixtures for the Python client's tests against a scripted local server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.client.scripted_api import ScriptedApi, scripted_api


@pytest.fixture
def api() -> Iterator[ScriptedApi]:
    with scripted_api() as running:
        yield running
        # Every answer the test scripted was asked for, and nothing else was.
        assert running.unexpected == []
        assert running.pending() == []
