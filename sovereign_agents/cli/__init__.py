"""The ``sovereign`` command line: ``app`` (Typer) and ``main`` (the console entry point).

* ``common``: what every command shares (consoles, one-line errors, ``KEY=JSON`` options,
  the run guard, the outcome lines); command modules import helpers from it only.
* ``run``, ``debug`` (resume, history, fork, replay, trace), ``eval``, ``search``, ``bench``,
  ``show``: the commands.
* ``app``: the Typer app that registers them.
"""

from sovereign_agents.cli.app import app, main

__all__ = ["app", "main"]
