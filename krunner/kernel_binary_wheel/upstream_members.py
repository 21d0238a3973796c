"""What each member of upstream's backend.ai-kernel-binary wheel is, and why it is not built here.

Every binary member must match a category; a new kind of binary in a future
upstream release stops the build (naming it) instead of passing unlisted.
Scripts and data files (entrypoint.sh, dotfiles, terminfo, fonts, words.json,
the Python helpers) fall in the last category.
"""

from __future__ import annotations

import re

# (category, basename pattern, why this build does not make it)
CATEGORIES = [
    (
        "in-container binary",
        re.compile(r"(su-exec|dropbearmulti|sftp-server|tmux|ttyd_linux)\.[^/]+\.bin"),
        "one of the five in-container binaries this project builds from pinned source; "
        "upstream's is kept while the wheel's replacement map does not name it",
    ),
    (
        "libbaihook",
        re.compile(r"libbaihook\.[^/]+\.so"),
        "Backend.AI's LD_PRELOAD hook, one per image distro; its source is in the "
        "backend.ai repository on GitHub, which no pinned Debian or PyPI source carries",
    ),
    (
        "jail",
        re.compile(r"jail\.[^/]+\.bin"),
        "Backend.AI's jail sandbox, one per image distro; source on GitHub only",
    ),
    (
        "all-smi",
        re.compile(r"all-smi(\.[^/]+\.bin|\.1)"),
        "lablup's all-smi (and its man page); source on GitHub only",
    ),
    (
        "bssh",
        re.compile(r"bssh(-server)?(\.[^/]+\.bin|\.[0-9])"),
        "lablup's bssh client and server (and their man pages); source on GitHub only",
    ),
    (
        "extractor image",
        re.compile(r"krunner-extractor\.img\.[^/]+\.tar\.xz"),
        "the docker-save image the agent loads to unpack krunner volumes, built by "
        "upstream from base images no pinned source carries",
    ),
]
SCRIPTS = (
    "scripts and data",
    "upstream's scripts, dotfiles, terminfo entries, fonts and data files, "
    "copied as published (their source is the backend.ai repository on GitHub)",
)
_BINARY = re.compile(r"\.(bin|so)$|\.tar\.xz$")


class UnclassifiedMember(Exception):
    """A binary member that no category names; the message says which and what to do."""


def classify(member: str) -> tuple[str, str]:
    """(category, why not built here) of an upstream member kept as published."""
    base = member.rsplit("/", 1)[-1]
    for category, pattern, why in CATEGORIES:
        if pattern.fullmatch(base):
            return category, why
    if _BINARY.search(base):
        raise UnclassifiedMember(
            f"upstream member {member} is a binary no category names: add it to CATEGORIES "
            "in krunner/kernel_binary_wheel/upstream_members.py, or replace it"
        )
    return SCRIPTS
