"""One source per notebook: the teacher's solution, from which students' copies derive.

Cell tags say what each cell is:

- ``solution``: a code cell students write themselves. Their copy keeps the
  cell, with the source replaced by ``# YOUR CODE HERE`` (and any line of the
  solution that starts with ``#`` kept as a hint).
- ``answer``: a markdown cell answering a question; students get
  ``**Your answer:**`` to fill in.
- ``teacher``: removed from students' copies altogether (notes for teachers).
- ``parameters``: the papermill convention; a run can override its values.

Students get their copy when they open a session (see :mod:`.sync`); the
teacher's is the file in the course folder. Nothing is maintained twice.
"""

from __future__ import annotations

import ast
import copy
import json
from typing import Any

import nbformat
from nbformat import NotebookNode

SOLUTION, ANSWER, TEACHER, PARAMETERS = "solution", "answer", "teacher", "parameters"
PLACEHOLDER = "# YOUR CODE HERE"
YOUR_ANSWER = "**Your answer:**"


def tags(cell: NotebookNode) -> set[str]:
    return set(cell.get("metadata", {}).get("tags", []))


def student_version(nb: NotebookNode) -> NotebookNode:
    """The students' copy: solutions blanked, answers emptied, teacher notes gone."""
    out = copy.deepcopy(nb)
    cells = []
    for cell in out.cells:
        t = tags(cell)
        if TEACHER in t:
            continue
        if SOLUTION in t and cell.cell_type == "code":
            hints = [line for line in cell.source.splitlines() if line.lstrip().startswith("#")]
            cell.source = "\n".join([*hints, PLACEHOLDER])
        elif ANSWER in t and cell.cell_type == "markdown":
            cell.source = YOUR_ANSWER
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        cells.append(cell)
    out.cells = cells
    return out


def student_bytes(data: bytes) -> bytes:
    """A notebook file's bytes, as students receive them (same formatting as nbformat)."""
    nb = nbformat.reads(data.decode("utf-8"), as_version=4)
    if not any(tags(c) & {SOLUTION, ANSWER, TEACHER} for c in nb.cells):
        return data  # nothing to hide: the file as the teacher wrote it
    return (nbformat.writes(student_version(nb)) + "\n").encode("utf-8")


def assigned_parameters(nb: NotebookNode) -> set[str]:
    """The names the notebook's ``parameters`` cell assigns."""
    names = set()
    for cell in nb.cells:
        if PARAMETERS in tags(cell):
            for node in ast.walk(ast.parse(cell.source)):
                if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                    names.add(node.id)
    return names


def inject_parameters(nb: NotebookNode, parameters: dict[str, Any]) -> NotebookNode:
    """Papermill's convention: a cell after the ``parameters`` cell overrides them.

    Refuses (``ValueError``) a name the parameters cell does not assign: a
    misspelt one would be ignored and the notebook would run at full size.
    """
    if not parameters:
        return nb
    known = assigned_parameters(nb)
    unknown = sorted(set(parameters) - known)
    if unknown:
        raise ValueError(
            f"not assigned in the notebook's parameters cell: {', '.join(unknown)} "
            f"(it assigns {', '.join(sorted(known)) or 'nothing'})"
        )
    out = copy.deepcopy(nb)
    lines = [f"{name} = {json.dumps(value)}" for name, value in parameters.items()]
    cell = nbformat.v4.new_code_cell("# Parameters injected for this run\n" + "\n".join(lines))
    cell.metadata["tags"] = ["injected-parameters"]
    where = next((i for i, c in enumerate(out.cells) if PARAMETERS in tags(c)), -1)
    out.cells.insert(where + 1, cell)
    return out


def problems(nb: NotebookNode) -> list[str]:
    """What a committed course notebook must not have: outputs, execution counts."""
    found = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        if cell.get("outputs"):
            found.append(f"cell {i} has outputs")
        if cell.get("execution_count") is not None:
            found.append(f"cell {i} has an execution count")
    return found
