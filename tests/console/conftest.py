from tests.proxy.conftest import data_install, upstream  # noqa: F401 - shared fixtures
