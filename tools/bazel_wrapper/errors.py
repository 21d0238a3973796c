"""The one error type the wrapper reports: a message that names the thing and the fix."""


class WrapperError(Exception):
    """A failure tools/bazel explains to the user instead of printing a traceback."""
