"""An offline emulator of Runware's API for Qwen-Image models: same wire protocol, on loopback,
with synthetic images, a ledger of emulated charges, and fault injection for testing clients.

    from qwenlab.emulator import Emulator, Faults
    with Emulator(faults=Faults(latency=0.5, rate_429=0.1, seed=1)) as emu:
        ...  # point a client at emu.url (http://127.0.0.1:PORT/v1); any non-empty key works

`start_embedded()` returns the process-wide instance qwenlab uses when RUNWARE_API_KEY is unset.
Its images are synthetic (see `qwenlab.emulator.synthetic`); it never connects beyond loopback.
"""

from .delivery import Delivery
from .faults import Faults
from .ledger import Charge, Ledger
from .records import RequestRecord
from .server import Emulator, start_embedded

__all__ = ["Emulator", "Faults", "Ledger", "Charge", "Delivery", "RequestRecord", "start_embedded"]
