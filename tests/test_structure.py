"""The code keeps the shape the project chose: short functions, and nothing reaches into sys.path
(the package is installed; see pyproject.toml)."""

import ast

import pytest
from helpers import REPO

LONGEST_FUNCTION = 60  # lines; a function that needs a scroll bar is two functions
LONGEST_TRAINING_MODULE = 300  # lines: each role of actviz/training/ fits in a few screens
LONGEST_MODULE = 400  # lines: a module past it holds more than one role


def test_no_function_in_the_package_is_longer_than_a_screen():
    long = []
    for path in sorted((REPO / "actviz").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lines = node.end_lineno - node.lineno + 1
                if lines > LONGEST_FUNCTION:
                    long.append(f"{path.relative_to(REPO)}:{node.lineno} {node.name}: {lines} lines")
    assert long == []


def test_each_module_of_the_training_package_fits_in_a_few_screens():
    modules = sorted((REPO / "actviz" / "training").glob("*.py"))
    long = {path.name: len(path.read_text().splitlines()) for path in modules}
    assert len(long) >= 6  # the roles: loop, run, probe, store, observer, records
    assert {name: lines for name, lines in long.items() if lines > LONGEST_TRAINING_MODULE} == {}


def test_no_module_of_the_package_is_longer_than_a_few_screens():
    long = {str(path.relative_to(REPO)): len(path.read_text().splitlines())
            for path in sorted((REPO / "actviz").rglob("*.py"))}
    assert {name: lines for name, lines in long.items() if lines > LONGEST_MODULE} == {}


@pytest.mark.parametrize("folder", ["actviz", "scripts", "bench", "tests", "rules"])
def test_nothing_inserts_itself_into_sys_path(folder):
    offenders = [str(path.relative_to(REPO)) for path in sorted((REPO / folder).rglob("*"))
                 if path.suffix in (".py", ".smk") and "sys.path.insert" in path.read_text()
                 and path.name != "test_structure.py"]
    assert offenders == []
