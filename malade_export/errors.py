"""One exception type for every mistake a user can make.

The CLI turns a ``MaladeError`` into a single line on stderr and a non-zero exit code, so
library code raises it with a message that is already fit to show (what is wrong, what to do).
"""


class MaladeError(Exception):
    """A user-facing error: bad input, missing data, unreadable checkpoint."""
