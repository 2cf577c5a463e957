"""What ``prwatch sweep`` loads: a cron job pays for every import on every run."""

from __future__ import annotations

import subprocess
import sys

# The web app, the simulator's server, the Redis queue and the migration machinery: a sweep
# in the embedded mode uses none of them (Alembic only when the schema is behind).
NOT_FOR_A_SWEEP = (
    "alembic",
    "arq",
    "jinja2",
    "mako",
    "redis",
    "starlette",
    "uvicorn",
    "prwatch.web",
    "prwatch.queue.arq_queue",
    "prwatch.sim.app",
)


def test_the_sweep_command_imports_nothing_it_does_not_use() -> None:
    code = (
        "import sys\n"
        "import prwatch.cli\n"
        "prwatch.cli.build_parser()\n"
        "import prwatch.commands.sweep_report\n"
        "print('\\n'.join(sorted(sys.modules)))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    modules = set(result.stdout.split())
    assert "prwatch.sync.processor" in modules  # the sweep itself is there
    loaded = sorted(
        name
        for name in modules
        if any(name == banned or name.startswith(banned + ".") for banned in NOT_FOR_A_SWEEP)
    )
    assert loaded == []
