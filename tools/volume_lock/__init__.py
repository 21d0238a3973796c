"""The volume lock: its rule (lock.py) and the versions in krunner/distros.bzl (distros_file.py)."""
