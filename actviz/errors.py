"""User-facing errors and the wrapper every script's ``main`` runs under."""

import gc
import json
import sys


class UserError(Exception):
    """A problem the user can fix (bad input, missing file, bad setting).

    Scripts print its message on one line and exit with status 2, never a traceback.
    """


def run_cli(main, argv=None):
    """Run ``main(argv)`` and turn a ``UserError`` into a one-line message and exit code 2.

    Then the process ends without collecting every object at exit (``gc.freeze``): a process that has
    imported TensorFlow spent 0.75 s in that collection, at the end of every train and extract job. Every
    output is written and closed by then (``actviz.atomic``); the objects are freed with the process.
    """
    try:
        return main(argv)
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
    finally:
        gc.freeze()


def load_json(path):
    """The JSON file at ``path``; a ``UserError`` naming it if it cannot be read or is not JSON."""
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, json.JSONDecodeError) as error:
        raise UserError(f"{path}: cannot read ({error})") from None


def json_option(text, option):
    """The value of a command-line ``option`` given as JSON text; a ``UserError`` naming the option if it is not."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise UserError(f"{option} is not JSON ({error})") from None
