"""Task runner: ``nox -s tests lint typecheck docs bench fuzz``."""

from __future__ import annotations

import os

import nox

nox.options.sessions = ["tests", "lint", "typecheck", "docs"]
nox.options.reuse_existing_virtualenvs = True

PYTHONS = ["3.10", "3.11", "3.12", "3.13"]


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """The whole test suite (the README's command), with BytesWarning as error."""
    session.install("-e", ".[test]")
    session.run("python", "-bb", "-m", "pytest", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff check and ruff format --check."""
    session.install("ruff")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict over src and tests."""
    session.install("-e", ".[test,dev]")
    session.run("mypy", "--strict", "src", "tests")


@nox.session
def docs(session: nox.Session) -> None:
    """Build the sphinx docs; any warning is an error."""
    session.install("-e", ".[docs]")
    session.run("sphinx-build", "-W", "--keep-going", "-b", "html", "docs", "docs/_build/html")


@nox.session
def bench(session: nox.Session) -> None:
    """Run every benchmark script in benchmarks/ (prints tables of ratios)."""
    session.install("-e", ".[test,bench]")
    scripts = sorted(f for f in os.listdir("benchmarks") if f.startswith("bench_"))
    for name in session.posargs or scripts:
        session.run("python", os.path.join("benchmarks", name))


@nox.session
def fuzz(session: nox.Session) -> None:
    """Run every fuzz harness in fuzz/ for a given time each.

    ``nox -s fuzz -- --minutes 30`` (or ``--seconds N``, or name targets:
    ``nox -s fuzz -- smtp_server mime_parse --minutes 5``); atheris when it
    installs, else the hypothesis engine.  ``nox -s fuzz -- --properties``
    instead runs the property tests long (HYPOTHESIS_PROFILE=fuzz).
    """
    session.install("-e", ".[test]")
    args = list(session.posargs)
    if "--properties" in args:
        args.remove("--properties")
        session.run(
            "python",
            "-m",
            "pytest",
            "-x",
            "-k",
            "hypothesis or property or fuzz",
            *args,
            env={"HYPOTHESIS_PROFILE": "fuzz"},
        )
        return
    try:
        session.install("atheris")
    except Exception:  # no atheris wheel for this platform: use hypothesis
        args += ["--engine", "hypothesis"]
    if not any(a in ("--all",) or not a.startswith("-") for a in args):
        args.append("--all")
    session.run("python", "fuzz/run.py", *args)
