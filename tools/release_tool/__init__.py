"""tools/release's checks and output (assemble.py), and the wheel checks it runs (wheel_checks.py)."""
