import pytest


@pytest.fixture(autouse=True, params=["cpython", "micropython"])
def runtime(request):
    """Every test in this folder runs once per runtime; see host_tests/conftest.py."""
    return request.param
