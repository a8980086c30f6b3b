"""The payee's memory of the packets it issued is bounded and exact."""

from __future__ import annotations

from baobab.fspsim.conditions import IssuedPackets


def test_only_the_latest_packets_are_remembered_and_only_as_issued() -> None:
    issued = IssuedPackets(size=2)
    for n in range(3):
        issued.remember(condition=f"c{n}", packet=f"p{n}", fulfilment=f"f{n}", amount=n)
    assert issued.recall("c0", "p0") is None  # the oldest was forgotten
    assert issued.recall("c1", "p1") == ("f1", 1)
    assert issued.recall("c2", "p2") == ("f2", 2)
    assert issued.recall("c2", "p1") is None  # another packet under that condition
