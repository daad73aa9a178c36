"""The ``sovereign`` command line (also ``python -m sovereign_agents``): the Typer app and
its commands, in the order ``--help`` lists them."""

from __future__ import annotations

import sys

import typer

from sovereign_agents.cli import debug
from sovereign_agents.cli.bench import bench_command
from sovereign_agents.cli.common import err
from sovereign_agents.cli.eval import eval_app
from sovereign_agents.cli.run import run
from sovereign_agents.cli.search import search_command
from sovereign_agents.cli.show import show_command

app = typer.Typer(
    name="sovereign",
    help="Turn a research goal into a verified, reviewed draft report.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root() -> None:
    """sovereign-agents: research goal in, verified and reviewed draft report out."""


app.command()(run)
app.add_typer(eval_app, name="eval")
debug.register(app)
app.command("search")(search_command)
app.command("bench")(bench_command)
app.command("show")(show_command)


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)


if __name__ == "__main__":
    main()
