"""The skeleton table in the code is what the generator makes of Unicode's confusables.txt."""

from __future__ import annotations

from pathlib import Path

import pytest

from gatehouse.accounts import confusables
from tools.confusables_table import NAME_ALPHABET, module_text, prototypes

ROOT = Path(__file__).resolve().parents[2]
# The lines of confusables.txt 17.0.0 whose source a name can hold, among a few it cannot.
EXCERPT = ROOT / "tests" / "vectors" / "unicode" / "confusables-17.0.0-excerpt.txt"


def test_the_generated_module_is_the_generator_output_for_the_named_version():
    version, table = prototypes(EXCERPT.read_text(encoding="utf-8").splitlines())
    assert version == confusables.CONFUSABLES_VERSION == "17.0.0"
    assert table == confusables.PROTOTYPES == {"0": "O", "1": "l", "m": "rn"}
    generated = (ROOT / "gatehouse" / "accounts" / "confusables.py").read_text(encoding="utf-8")
    assert module_text(version, table) == generated


def test_only_characters_a_name_can_hold_are_kept():
    lines = ["# Version: 99.0", "0049 ;\t006C ;\tMA\t# I -> l", "FF4D ;\t006D ;\tMA\t# fullwidth m -> m"]
    assert prototypes(lines) == ("99.0", {})
    assert set(confusables.PROTOTYPES) <= NAME_ALPHABET


def test_a_file_without_a_version_is_refused():
    with pytest.raises(ValueError, match="Version"):
        prototypes(["006D ;\t0072 006E ;\tMA\t# m -> rn"])
