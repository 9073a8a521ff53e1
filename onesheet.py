"""The `onesheet` command: a click group whose subcommands live beside the code they drive.

Subcommands are imported lazily so that `onesheet store info` never pays for torch,
onnxruntime or scikit-learn imports.
"""

import importlib

import click

from store.version import PACKAGE_VERSION

__version__ = PACKAGE_VERSION

# command name -> "module:attribute"
COMMANDS = {
    "run": "classifiers.cli:run_cmd",
    "ingest": "store.cli:ingest_cmd",
    "store": "store.cli:store_group",
    "featurize": "featurize.cli:featurize_cmd",
    "fetch-tmdb": "featurize.tmdb.cli:fetch_tmdb_cmd",
    "fit": "classifiers.cli:fit_cmd",
    "predict": "classifiers.cli:predict_cmd",
    "evaluate": "classifiers.cli:evaluate_cmd",
    "explore": "classifiers.cli:explore_cmd",
    "serve": "classifiers.cli:serve_cmd",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx):
        return [name for name in COMMANDS if self._available(name)]

    @staticmethod
    def _available(name):
        module = COMMANDS[name].split(":")[0]
        return importlib.util.find_spec(module) is not None

    def get_command(self, ctx, name):
        if name not in COMMANDS or not self._available(name):
            return None
        module, attr = COMMANDS[name].split(":")
        return getattr(importlib.import_module(module), attr, None)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="onesheet")
def main():
    """onesheet: tell a movie's genres from its poster and overview, per decade."""


if __name__ == "__main__":
    main()
