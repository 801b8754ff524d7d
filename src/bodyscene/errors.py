"""The one exception type the CLI turns into a single line and exit status 2."""


class BodySceneError(Exception):
    """Bad input a user can fix: the message names the thing and the fix, in one line."""
