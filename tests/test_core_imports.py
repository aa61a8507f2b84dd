"""The core package works without the optional extras: importing it never loads torch."""

import subprocess
import sys
import textwrap


def test_core_modules_do_not_import_torch():
    script = textwrap.dedent(
        """
        import sys
        import scatter, scatter.grid, scatter.sklearn, scatter.datasets, scatter.cli, scatter.plotting
        import pipelines
        print("torch" in sys.modules)
        """
    )
    result = subprocess.run([sys.executable, "-c", script], check=True, capture_output=True, text=True)
    assert result.stdout.strip() == "False"
