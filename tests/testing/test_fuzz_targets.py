"""The fuzz harnesses run on their seeds (and replay their regression inputs),
so they cannot rot between long fuzzing runs."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

FUZZ = Path(__file__).resolve().parents[2] / "fuzz"


def _load(name: str) -> ModuleType:
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, FUZZ / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


targets = _load("targets")
runner = _load("run")


def test_every_target_is_registered() -> None:
    assert sorted(runner.NAMES) == sorted(targets.TARGETS)


@pytest.mark.parametrize("name", runner.NAMES)
def test_target_accepts_its_seeds_and_regressions(name: str) -> None:
    seeds = runner.seeds(name)
    assert seeds, f"{name} has no seed"
    for data in seeds[:60]:
        targets.TARGETS[name](data)
    regressions = FUZZ / "regressions" / name
    if regressions.is_dir():
        for path in sorted(regressions.iterdir()):
            targets.TARGETS[name](path.read_bytes())


@pytest.mark.parametrize("name", [n for n in runner.NAMES if n.endswith("_roundtrip")])
def test_roundtrip_targets_on_every_seed(name: str) -> None:
    # Every seed (RFC examples and transcripts, regressions), not only the
    # first 60: whatever the codec parses must serialise and parse back equal.
    seeds = runner.seeds(name)
    regressions = [p.read_bytes() for p in sorted((FUZZ / "regressions" / name).glob("*"))]
    assert regressions, f"{name} has no regression inputs"
    assert all(r in seeds for r in regressions)
    for data in seeds:
        targets.TARGETS[name](data)
