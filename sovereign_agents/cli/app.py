"""The ``sovereign`` command line (also ``python -m sovereign_agents``): the Typer app and
its commands, in the order ``--help`` lists them."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated

import typer

from sovereign_agents.cache import CACHE_ENV, platform_cache_dir, use_cli_cache_dir
from sovereign_agents.cli import debug
from sovereign_agents.cli.batch import batch_command
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


def _print_version(value: bool) -> None:
    if value:
        from sovereign_agents.version import package_version

        print(f"sovereign-agents {package_version()}")
        raise typer.Exit()


def _home_relative(path: Path) -> str:
    try:
        return f"~/{path.relative_to(Path.home())}"
    except ValueError:
        return str(path)


@app.callback()
def _root(
    ctx: typer.Context,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="print the version and exit"
        ),
    ] = False,
    cache_dir: Annotated[
        Path | None,
        typer.Option(
            help="where search indexes, corpus LSA, arXiv results and --cache model answers "
            f"are cached (given, it wins over ${CACHE_ENV}; a --set cache_dir=... wins over "
            "it)",
            show_default=_home_relative(platform_cache_dir()),
        ),
    ] = None,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="log progress (INFO) to stderr")
    ] = False,
) -> None:
    """sovereign-agents: research goal in, verified and reviewed draft report out."""
    # read now: HOME may have changed; a given --cache-dir wins over $SOVEREIGN_CACHE_DIR
    use_cli_cache_dir(cache_dir or platform_cache_dir(), explicit=cache_dir is not None)
    ctx.call_on_close(lambda: use_cli_cache_dir(None))  # an in-process caller is left as found
    if verbose:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        ours = logging.getLogger("sovereign_agents")
        level = ours.level
        ours.addHandler(handler)
        ours.setLevel(logging.INFO)

        def _unhook() -> None:
            ours.removeHandler(handler)
            ours.setLevel(level)

        ctx.call_on_close(_unhook)


app.command()(run)
app.command("batch")(batch_command)
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
