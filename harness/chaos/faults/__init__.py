"""Fault kinds, one small class each, by the side of the exchange they act on.

``base``: the registry, traits, and the three base classes; ``request``, ``response`` and
``message``: the kinds. Importing this package registers every built-in kind.
"""

from harness.chaos.faults import base, message, request, response
from harness.chaos.faults.base import *  # noqa: F403
from harness.chaos.faults.message import *  # noqa: F403
from harness.chaos.faults.request import *  # noqa: F403
from harness.chaos.faults.response import *  # noqa: F403

__all__ = sorted({*base.__all__, *message.__all__, *request.__all__, *response.__all__})
