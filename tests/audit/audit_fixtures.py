"""Constants and an independent GB 11643 check character for the audit tests."""
from __future__ import annotations

# GB 11643 check character computed here independently of evalkit (reference for the tests)
_W = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]


def gb_id(first17: str) -> str:
    return first17 + "10X98765432"[sum(int(c) * w for c, w in zip(first17, _W)) % 11]


# the textbook example of the standard: 15-digit 110105491231002 == 18-digit 11010519491231002X
TEXTBOOK_15 = "110105491231002"
TEXTBOOK_18 = "11010519491231002X"
assert gb_id(TEXTBOOK_18[:17]) == TEXTBOOK_18

C1, C2 = "520102000000", "520103000000"


