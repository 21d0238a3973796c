"""tools/bazel's implementation: pick a Bazel, provision one if needed, run it."""
