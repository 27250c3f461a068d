"""Fixtures of the integration tests: a demo warehouse built once per session."""

import pytest

from tests.integration.helpers import Warehouse, new_warehouse


@pytest.fixture(scope="session")
def built(tmp_path_factory) -> Warehouse:
    """The demo project built once at a small scale, shared by read-only tests."""
    warehouse = new_warehouse(tmp_path_factory.mktemp("demo"))
    warehouse.build()
    return warehouse
