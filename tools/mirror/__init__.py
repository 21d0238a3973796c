"""tools/mirror: the offline source mirror (Debian orig tarballs standing in for GitHub)."""
