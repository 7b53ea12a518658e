"""The shared signing vectors, byte for byte."""

import json

import dajisaas
from conftest import REPO

VECTORS = json.loads((REPO / "tests" / "vectors" / "sign.json").read_text(encoding="utf-8"))["vectors"]


def test_there_are_enough_vectors() -> None:
    assert len(VECTORS) >= 25


def test_every_vector_signs_identically() -> None:
    for v in VECTORS:
        assert dajisaas.sign(v["params"], v["secret"]) == v["sign"], v["name"]


def test_masked_string_is_the_signed_string_without_the_secret() -> None:
    for v in VECTORS:
        expected = v["signed_string"][: -len(v["secret"])] + "***"
        assert dajisaas.signing_string_masked(v["params"]) == expected, v["name"]
