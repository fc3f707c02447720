#!/usr/bin/env python3
"""Writes test/fixtures/accumulate-fsum.json: double sequences and Python's math.fsum of each (the
reference for src/core/accumulate.ts ExactSum). Deterministic: python3 scripts/gen_accumulate_fixtures.py"""
import json
import math
import os
import random

rng = random.Random(20261126)


def case(name, values):
    return {"name": name, "values": values, "fsum": math.fsum(values)}


cases = [
    case("cancellation", [1e100, 1.0, -1e100, 1e-100, 1e50, -1.0, -1e50]),
    case("half-way rounding", [1.0, 1e-16, 1e-16, 1e-300]),
    case("tiny tail breaks the tie", [2.0 ** 53, 1.0, 2.0 ** -60]),
    case("many tenths", [0.1] * 1000),
    case("wide magnitudes", [rng.choice([-1, 1]) * 10.0 ** rng.uniform(-30, 30) for _ in range(500)]),
    case("losses with cancelling signs", [rng.gauss(0, 1) * 1e8 for _ in range(300)] + [1e-3]),
    case("float32-like losses", [float(rng.random()) for _ in range(2000)]),
    case("empty", []),
]
out = os.path.join(os.path.dirname(__file__), "..", "test", "fixtures", "accumulate-fsum.json")
with open(out, "w") as f:
    json.dump({"generator": "scripts/gen_accumulate_fixtures.py", "cases": cases}, f, indent=0)
    f.write("\n")
print(out)
