"""`tools/bazel run //tools:release_check -- ...`: tools/release's checks on the built files."""

import sys

from release_tool.assemble import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
