"""A simulated FSP (``baobab fsp-sim``): a small ASGI app that acts toward the switch as a real
financial service provider would. As a payee it answers party lookups, quotes (with an ILP
payment request) and transfers (with the matching fulfilment) — or refuses, answers late or
never, as configured. As a payer it runs lookup -> quote -> transfer and records every callback,
so tests, the benchmark and the demo can await the outcome of a transfer."""

from baobab.fspsim.app import build_app
from baobab.fspsim.config import (
    Behaviour,
    InvalidSimulatorConfig,
    Party,
    SimulatorConfig,
    load_config,
)
from baobab.fspsim.journal import Journal, Received
from baobab.fspsim.payer import TransferOutcome
from baobab.fspsim.simulator import Simulator

__all__ = [
    "Behaviour",
    "InvalidSimulatorConfig",
    "Journal",
    "Party",
    "Received",
    "Simulator",
    "SimulatorConfig",
    "TransferOutcome",
    "build_app",
    "load_config",
]
