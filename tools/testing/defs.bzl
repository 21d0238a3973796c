"""`pytest_test`: a py_test that runs its sources with pytest."""

load("@rules_python//python:defs.bzl", "py_test")

def pytest_test(name, srcs, deps = [], data = [], args = [], **kwargs):
    """A test target that runs the test files `srcs` with the pinned pytest.

    Args:
      name: the test's name.
      srcs: the test files (`test_*.py`); passed to pytest explicitly.
      deps: py_library targets the tests import.
      data: files the tests read at run time.
      args: extra pytest arguments, after the test files.
      **kwargs: passed to py_test (size, tags, env, ...).
    """
    py_test(
        name = name,
        srcs = srcs + ["//tools/testing:pytest_main.py"],
        main = "//tools/testing:pytest_main.py",
        args = ["$(rootpath {})".format(s) for s in srcs] + args,
        deps = deps + ["@pypi_pytest//:pkg"],
        data = data,
        **kwargs
    )
