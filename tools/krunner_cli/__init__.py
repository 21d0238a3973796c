"""tools/krunner: inspect and compare Backend.AI krunner wheels (ours and upstream's)."""
