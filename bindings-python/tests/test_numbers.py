"""Numbers are signed and sent by one rule in every language (README: "Numbers in signatures and
bodies"): integers in decimal with all their digits, floats as JavaScript's Number#toString writes
them. Checked here against the vectors' independent generator (tests/vectors/generate.py)."""

from __future__ import annotations

import importlib.util
import math
import random
import struct

import dajisaas
from conftest import REPO

_spec = importlib.util.spec_from_file_location("generate", REPO / "tests" / "vectors" / "generate.py")
assert _spec is not None and _spec.loader is not None
generate = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(generate)


def masked(value: object) -> str:
    return dajisaas.signing_string_masked({"x": value})


def test_whole_floats_are_integers_as_in_node() -> None:
    assert masked(1.0) == "x=1&secret=***"
    assert masked(-0.0) == "x=0&secret=***"
    assert masked([1.0, 2.5, 1e-05, 1e21]) == "x=[1,2.5,0.00001,1e+21]&secret=***"
    assert masked({"a": 100.0}) == 'x={"a":100}&secret=***'


def test_integers_keep_every_digit() -> None:
    assert masked(10**30) == f"x={10**30}&secret=***"
    assert masked(float(10**30)) == "x=1e+30&secret=***"


def test_random_floats_follow_the_generator() -> None:
    rng = random.Random(11)
    samples = [0.1, 1e-7, 5e-324, 1.7976931348623157e308, 123.456, 1e21, 1e20, 0.000001]
    # Doubles with few fraction bits, where two shortest digit strings are often equally close.
    for _ in range(3000):
        samples.append(rng.randint(2**52, 2**53 - 1) * 2.0 ** -rng.randint(0, 12))
    while len(samples) < 8000:
        x = struct.unpack("<d", rng.getrandbits(64).to_bytes(8, "little"))[0]
        if math.isfinite(x):
            samples.append(x)
    for x in samples:
        assert masked(x) == f"x={generate.render_float(x)}&secret=***", repr(x)
        assert masked([x]) == f"x=[{generate.render_float(x)}]&secret=***", repr(x)


def test_floats_that_cannot_be_signed_are_refused() -> None:
    for bad in (math.inf, -math.inf, math.nan):
        try:
            masked(bad)
        except dajisaas.InvalidArgumentError as e:
            assert "cannot be signed" in e.message
        else:
            raise AssertionError(f"{bad} was signed")
