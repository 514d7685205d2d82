"""Console scripts end quietly when their reader goes away (``ssn-gateway ... --json | head``)."""

from __future__ import annotations

import subprocess
import sys


def test_a_closed_pipe_is_not_a_traceback() -> None:
    script = (
        "import argparse\n"
        "from console import print_json, run\n"
        "parser = argparse.ArgumentParser(prog='t')\n"
        "parser.set_defaults(func=lambda a: print_json([{'n': i} for i in range(100000)]) or 0)\n"
        "raise SystemExit(run(parser, []))\n"
    )
    writer = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert writer.stdout is not None
    writer.stdout.read(10)
    writer.stdout.close()
    _, err = writer.communicate(timeout=30)
    assert b"Traceback" not in err, err.decode()
    assert writer.returncode == 0
