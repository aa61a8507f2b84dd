"""Helpers shared by the benchmarks that write their own section of ``benchmarks/RESULTS.md``.

Each benchmark owns one ``## ...`` section of that file and replaces only it, keeping the others (the same
rule as ``speed.py``); the file is written atomically. Children run in fresh interpreters and print one
``RESULT {json}`` line, as in ``speed.py``.
"""

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS_PATH = Path(__file__).resolve().parent / "RESULTS.md"

if str(ROOT) not in sys.path:  # the benchmarks run from a checkout, with or without an installed scatter
    sys.path.insert(0, str(ROOT))


def replace_section(text, title, section):
    """``text`` with the section headed ``title`` (up to the next ``## `` line) replaced by ``section``.

    The section is appended when absent; a file without text starts with ``# Benchmark results``.
    """
    lines = text.splitlines()
    if title not in lines:
        return text.rstrip("\n") + "\n\n" + section if text.strip() else "# Benchmark results\n\n" + section
    start = lines.index(title)
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    before = "\n".join(lines[:start]).rstrip("\n")
    after = "\n".join(lines[end:])
    return (before + "\n\n" if before else "") + section.rstrip("\n") + "\n" + ("\n" + after + "\n" if after else "")


def write_section(title, section, path=RESULTS_PATH):
    """Replace the section ``title`` of ``path`` by ``section``, atomically."""
    from scatter._atomic import write_text

    path = Path(path)
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    write_text(path, replace_section(text, title, section))


def child_environment(extra=None):
    """The environment of a child: this one, with the checkout first on ``PYTHONPATH`` (and ``extra``)."""
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    return {**os.environ, "PYTHONPATH": path, **(extra or {})}


def run_child(script, job, timeout_s, env=None):
    """Run ``script --child JSON(job)`` in a fresh interpreter; its result dict, or ``{"error": ...}``.

    The child imports scatter from this checkout (see :func:`child_environment`).
    """
    command = [sys.executable, str(script), "--child", json.dumps(job)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s, env=child_environment(env))
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout_s} s"}
    for line in reversed(done.stdout.splitlines()):
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT ") :])
    lines = [line for line in done.stderr.strip().splitlines() if line.strip()]
    return {"error": lines[-1] if lines else f"exit code {done.returncode}"}


def print_result(result):
    """The child's side of :func:`run_child`."""
    print("RESULT " + json.dumps(result), flush=True)


def markdown_table(header, rows):
    """A Markdown table with columns padded so it also reads well in a terminal."""
    widths = [max(len(str(c)) for c in column) for column in zip(header, *rows)]

    def line(cells):
        return "| " + " | ".join(str(c).ljust(n) for c, n in zip(cells, widths)) + " |"

    return "\n".join([line(header), line(["-" * n for n in widths]), *map(line, rows)])


def log(message):
    print(message, file=sys.stderr, flush=True)


def add_output_options(parser, section):
    """The options every benchmark script takes: ``--write-results`` (its ``section`` of RESULTS.md) and the
    hidden ``--child`` of :func:`run_child`."""
    parser.add_argument(
        "--write-results",
        action=argparse.BooleanOptionalAction,
        default=None,
        help=f"update the {section} of benchmarks/RESULTS.md (default: yes, except with --quick)",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    return parser
