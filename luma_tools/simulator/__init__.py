"""An embedded Luma API gateway simulator for demos, notebooks and tests.

A real HTTP server on localhost that speaks the aggregator-gateway flavour of the
Luma video API (``/luma/generations`` …), with fault injection and switchable
response dialects. It needs the ``simulator`` extra (werkzeug)::

    pip install 'luma-tools[simulator]'

Example:
    ```python
    from luma_tools.simulator import LumaSimulator

    with LumaSimulator() as sim:
        print(sim.base_url, sim.api_key)
    ```

The simulator deliberately shares no code with the luma-tools client: they only
meet over HTTP, so the simulator can catch the client's mistakes.
"""

from __future__ import annotations

from .._extras import missing_extra

try:
    import werkzeug  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised in a subprocess test
    raise missing_extra("simulator", "luma_tools.simulator", exc) from exc

from ._faults import Faults
from ._files import ServedVideo
from ._media import write_test_video
from ._records import HookDelivery, RecordedRequest
from ._shapes import Shapes
from ._simulator import LumaSimulator

__all__ = [
    "Faults",
    "HookDelivery",
    "LumaSimulator",
    "RecordedRequest",
    "ServedVideo",
    "Shapes",
    "write_test_video",
]
