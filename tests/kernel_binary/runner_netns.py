"""Run a block in another network namespace (this thread only): a started image's."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path


@contextlib.contextmanager
def in_netns(netns: Path):
    """Enter `netns` for the block; sockets made in it stay there afterwards."""
    own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    target = os.open(netns, os.O_RDONLY)
    try:
        os.setns(target, os.CLONE_NEWNET)
        try:
            yield
        finally:
            os.setns(own, os.CLONE_NEWNET)
    finally:
        os.close(target)
        os.close(own)
