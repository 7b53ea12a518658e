#!/usr/bin/env python3
"""Writes sign.json: signing vectors computed independently of the Rust signer.

The rule (API.md, README.md): drop `sign` and top-level nulls; sort keys by UTF-8 byte order; join
as key=value with '&', strings raw, booleans true/false, arrays and objects as compact JSON in the
order given; append '&secret=<secret>'; MD5; uppercase hex. Numbers, at the top level and inside
arrays and objects: integers in decimal with all their digits (any size); floats as JavaScript's
Number.prototype.toString writes them (shortest round-trip digits; whole values below 1e21 as
integers, -0.0 as 0; plain decimals for 1e-6 <= |x| < 1e21, else d.ddde+XX / d.ddde-XX).
This file implements it with Python's json, decimal and hashlib only. Run: python3 generate.py
"""
import decimal
import hashlib
import json
import math
import os

CASES = [
    ("the example in API.md", {"appKey": "K", "orderIdList": "[1,2]"}, "S"),
    ("payment link, two 19-digit ids as a JSON array",
     {"appKey": "sandbox-app-key", "orderIdList": "[2257455039610311973,2257455039610311974]"}, "sandbox-app-secret"),
    ("payment link, comma-separated fallback", {"appKey": "k1", "orderIdList": "2257455039610311973,2257455039610311974"}, "s1"),
    ("password-free payment body", {"appKey": "k1", "orderId": "2257164624870311973"}, "s1"),
    ("19-digit order id as an integer", {"appKey": "k", "orderId": 2257164624870311973}, "s"),
    ("Chinese value", {"appKey": "k", "keyword": "女装 连衣裙"}, "s"),
    ("emoji value", {"appKey": "k", "note": "🛒📦 fast"}, "s"),
    ("Chinese key", {"名称": "值", "appKey": "k"}, "s"),
    ("emoji key sorts after ASCII", {"🔑": "v", "z": "last ascii", "appKey": "k"}, "s"),
    ("& and = inside a value", {"appKey": "k", "q": "a=b&c=d"}, "s"),
    ("spaces kept, leading and trailing", {"appKey": "k", "q": "  two  spaces  "}, "s"),
    ("% and + kept raw", {"appKey": "k", "q": "100%+tax", "r": "a+b%20c"}, "s"),
    ("empty string is kept", {"appKey": "k", "empty": ""}, "s"),
    ("top-level null is dropped", {"appKey": "k", "gone": None, "kept": "x"}, "s"),
    ("only nulls", {"a": None, "b": None}, "s"),
    ("sign is never signed", {"appKey": "k", "sign": "ABCDEF", "x": "1"}, "s"),
    ("keys that differ only in case", {"b": "2", "B": "1", "a": "4", "A": "3"}, "s"),
    ("prefixes and punctuation in keys", {"ab": "1", "a": "2", "a_b": "3", "aB": "4", "a-b": "5"}, "s"),
    ("non-ASCII key sorts by bytes after z", {"é": "1", "z": "2", "e": "3"}, "s"),
    ("nested array of integers", {"appKey": "k", "ids": [2257455039610311973, 1, 22]}, "s"),
    ("nested object keeps its key order and its nulls", {"appKey": "k", "addr": {"zip": "100000", "city": "北京", "line2": None}}, "s"),
    ("deep nesting", {"appKey": "k", "cargo": [{"offerId": 6100, "specId": "a1", "qty": 2, "flags": [True, False]}, {"offerId": 7, "extra": {}}]}, "s"),
    ("strings inside arrays are JSON-escaped", {"appKey": "k", "tags": ["中文", "quote\"d", "back\\slash"]}, "s"),
    ("booleans", {"appKey": "k", "t": True, "f": False}, "s"),
    ("integers: zero, negative, large", {"appKey": "k", "zero": 0, "neg": -5, "big": 9223372036854775807}, "s"),
    ("numeric-looking strings stay as written", {"appKey": "k", "n": "007", "m": "1e3"}, "s"),
    ("control characters raw at top level", {"appKey": "k", "text": "line1\nline2\ttab"}, "s"),
    ("empty array and object", {"appKey": "k", "arr": [], "obj": {}}, "s"),
    ("secret with &, = and spaces", {"appKey": "k", "orderId": "1"}, "s&e=c ret"),
    ("Chinese secret", {"appKey": "k", "orderId": "1"}, "密钥"),
    ("long value", {"appKey": "k", "memo": "备注" * 300}, "s"),
    # Numbers: one rendering for every language (README: "Numbers in signatures and bodies").
    ("whole floats are written as integers", {"appKey": "k", "a": 1.0, "b": -2.0, "c": 100.0}, "s"),
    ("negative zero is 0", {"appKey": "k", "z": -0.0, "list": [-0.0, 0.0]}, "s"),
    ("short floats keep their shortest digits",
     {"appKey": "k", "a": 0.1, "b": 0.30000000000000004, "c": 1.5, "d": -2.75, "e": 19.99}, "s"),
    ("plain decimals down to 1e-6", {"appKey": "k", "a": 0.000001, "b": 0.00001, "c": 0.0001234, "d": 1.5e-6}, "s"),
    ("an exponent below 1e-6", {"appKey": "k", "a": 1e-7, "b": 1.5e-10, "c": 5e-324, "d": -2.5e-8}, "s"),
    ("plain digits up to 1e21", {"appKey": "k", "a": 1e20, "b": 1.2345678901234568e20, "c": 999999999999999.9}, "s"),
    ("an exponent from 1e21", {"appKey": "k", "a": 1e21, "b": 1.5e300, "c": -1.7976931348623157e308}, "s"),
    ("floats inside arrays and objects",
     {"appKey": "k", "list": [1.0, 0.5, 1e-7, 1e21], "obj": {"x": 2.5, "y": -0.0, "z": [3.0]}}, "s"),
    ("integers beyond 64 bits", {"appKey": "k", "big": 12345678901234567890123, "neg": -98765432109876543210987654321}, "s"),
    ("the largest unsigned 64-bit integer and the next", {"appKey": "k", "u": 18446744073709551615, "v": 18446744073709551616}, "s"),
    ("big integers inside arrays and objects",
     {"appKey": "k", "ids": [12345678901234567890123, 2257455039610311973], "o": {"n": -(2**70)}}, "s"),
    ("a float and an integer with the same digits",
     {"appKey": "k", "f": 12345678901234567890123.0, "i": 12345678901234567890123}, "s"),
    ("floats with many digits", {"appKey": "k", "pi": 3.141592653589793, "third": 0.3333333333333333, "e": 2.718281828459045}, "s"),
    ("halfway between two shortest digit strings: the even one",
     {"appKey": "k", "a": 1379387335265123.25, "b": -1379387335265123.75, "c": 0.5e-323}, "s"),
    ("integers that are doubles' neighbours",
     {"appKey": "k", "a": 9007199254740993, "b": 9007199254740993.0, "c": -9007199254740991}, "s"),
]


def render_float(x):
    """A float as JavaScript's Number.prototype.toString writes it (ECMA-262 Number::toString)."""
    if math.isnan(x) or math.isinf(x):
        raise ValueError(f"{x} cannot be signed")
    if x == 0:
        return "0"
    # repr is the shortest string that reads back as x; Decimal gives its digits and exponent.
    sign, digit_tuple, exponent = decimal.Decimal(repr(abs(x))).normalize().as_tuple()
    digits = "".join(map(str, digit_tuple))
    k = len(digits)
    n = k + exponent  # x = 0.d1d2...dk * 10^n
    if k <= n <= 21:
        text = digits + "0" * (n - k)
    elif 0 < n <= 21:
        text = digits[:n] + "." + digits[n:]
    elif -6 < n <= 0:
        text = "0." + "0" * -n + digits
    else:
        mantissa = digits[0] + ("." + digits[1:] if k > 1 else "")
        text = f"{mantissa}e{'+' if n - 1 >= 0 else '-'}{abs(n - 1)}"
    return "-" + text if x < 0 else text


def compact_json(value):
    """Compact JSON as json.dumps writes it, with numbers by the rule."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return render_float(value)
    if isinstance(value, list):
        return "[" + ",".join(compact_json(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ",".join(json.dumps(k, ensure_ascii=False) + ":" + compact_json(v)
                              for k, v in value.items()) + "}"
    raise TypeError(type(value))


def render(value):
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return compact_json(value)


def canonical(params, secret):
    pairs = [(k, render(v)) for k, v in params.items() if k != "sign" and v is not None]
    pairs.sort(key=lambda kv: kv[0].encode("utf-8"))
    return "&".join(f"{k}={v}" for k, v in pairs) + "&secret=" + secret


def main():
    vectors = []
    for name, params, secret in CASES:
        signed = canonical(params, secret)
        vectors.append({
            "name": name,
            "params": params,
            # The same params as compact JSON text, for languages whose JSON parser cannot
            # hold 19-digit integers (JavaScript) or that take params as text (C).
            "params_json": json.dumps(params, ensure_ascii=False, separators=(",", ":")),
            "secret": secret,
            "signed_string": signed,
            "sign": hashlib.md5(signed.encode("utf-8")).hexdigest().upper(),
        })
    doc = {
        "about": "Signing vectors shared by the Rust, Python, Node and C tests. params_json is params "
                 "as compact JSON text. signed_string is "
                 "the exact UTF-8 string hashed (canonical params + '&secret=' + secret); sign is "
                 "its MD5 in uppercase hex. Generated by generate.py beside this file, an "
                 "independent implementation using Python's json and hashlib.",
        "vectors": vectors,
    }
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sign.json")
    with open(out, "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False, indent=2)
        f.write("\n")
    # The same vectors for C, one per line: params_json TAB secret TAB sign (no field holds a tab
    # or a newline: params_json is JSON, which escapes them, and no secret has one).
    tsv = os.path.join(os.path.dirname(out), "sign.tsv")
    with open(tsv, "w", encoding="utf-8") as f:
        for v in vectors:
            fields = [v["params_json"], v["secret"], v["sign"]]
            assert not any("\t" in x or "\n" in x for x in fields), v["name"]
            f.write("\t".join(fields) + "\n")
    print(f"wrote {len(vectors)} vectors to {out} and {tsv}")


if __name__ == "__main__":
    main()
