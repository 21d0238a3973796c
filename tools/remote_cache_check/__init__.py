"""tools/check_remote_cache: a cache filled by one checkout must serve another fully.

Modules, one concern each: `sid` runs a program in tools/bazel's sid root,
`nginx` (its .deb fetched and checked by the offline mirror's `ensure_file`)
and `buildgrid` install and start the two
cache servers, `server` holds what they share (ports, start, stop), `checkout`
clones and builds, `summary` reads Bazel's process summary and `execlog` names
the actions that missed and what differs in them.
"""
