"""prwatch: an exact, current picture of every pull request and its check runs."""

__version__ = "0.1.0"
