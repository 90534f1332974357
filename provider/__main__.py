"""The plugin entry point the Pulumi CLI runs for `pulumi package add <repository>/provider`."""

import sys
from pathlib import Path


def main() -> None:
    """Put the repository on the import path, then serve the components (the port goes to stdout)."""
    # The CLI's Python host runs `python <this directory> <engine address> ...` in the plugin's own virtualenv,
    # with the consumer's directory as working directory. The components are the repository one level up
    # (a local path or the CLI's clone of the repository), so that goes first on sys.path. This directory is
    # dropped from it: its module names must not shadow anything the components import.
    plugin_dir = Path(__file__).resolve().parent
    sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != plugin_dir]
    sys.path.insert(0, str(plugin_dir.parent))

    from provider.hosting import serve

    serve(sys.argv[1:])


if __name__ == "__main__":
    main()
