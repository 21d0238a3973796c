"""tmux in bare images: a server and a session, keys sent, the screen read back.

In the glibc image (dash, no terminfo at all) and in the musl image (busybox)
with the agent's musl-image mount of `terminfo.alpine3.8` at
/home/work/.terminfo, as uid 1000. Everything happens in one shell run by the
image's own shell, polling `capture-pane` (the glibc image has no `sleep`).
"""

from __future__ import annotations

import kernel_files
import pytest
from support import image

# The typed line and what only its output (not its echo) contains: 6*7 is computed.
SCRIPT = r"""
T=/opt/kernel/tmux
$T -L test new-session -d -s work -x 80 -y 24 || exit 10
$T -L test send-keys -t work 'echo "tmux-says-$((6*7))"' Enter || exit 11
i=0
while [ $i -lt 3000 ]; do
  screen=$($T -L test capture-pane -p -t work) || exit 12
  case "$screen" in *tmux-says-42*) echo "$screen"; $T -L test kill-server; exit 0;; esac
  i=$((i+1))
done
echo "$screen"
exit 13
"""


@pytest.mark.parametrize("arch", kernel_files.ARCHES)
@pytest.mark.parametrize("libc", kernel_files.LIBCS)
def test_session_send_keys_capture_pane(libc, arch, tmp_path):
    mounts = kernel_files.kernel_mounts(tmp_path, arch, "tmux")
    if libc == "musl":
        mounts.append((kernel_files.agent_terminfo(), "/home/work/.terminfo"))
    proc = image.run(
        kernel_files.root(libc, arch),
        kernel_files.empty_volume(tmp_path),
        ["/bin/sh", "-c", SCRIPT],
        arch=arch,
        mounts=mounts,
        env={"TERM": "xterm-256color", "SHELL": "/bin/sh"},
        timeout=240,
    )
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    assert "tmux-says-42" in proc.stdout
