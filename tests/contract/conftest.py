"""The contract suite's one fixture: `backend`, each provider's adapter against its emulator.

Every test in tests/contract/ runs once per entry of `BACKENDS`; one emulator server per
provider per module, a freshly seeded tenant per test.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from tests.contract.backends import BACKENDS, Backend


@pytest.fixture(scope="module", params=sorted(BACKENDS))
def served(request: pytest.FixtureRequest) -> Iterator[Backend]:
    with BACKENDS[request.param]() as backend:
        yield backend


@pytest.fixture
async def backend(served: Backend) -> AsyncIterator[Backend]:
    served.reset()
    yield served
    await served.close()
