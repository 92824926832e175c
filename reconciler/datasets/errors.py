"""The one exception the dataset readers raise."""

from __future__ import annotations


class DatasetError(Exception):
    """The dataset cannot be read at all (missing, not a folder or zip, unsafe archive, a link).

    `problems` holds one message per problem so each becomes its own diagnostic.
    """

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems
