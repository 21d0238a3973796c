"""Backend.AI krunner plugin: the agent loads this module from the
`backendai_krunner_v10` entry point and reads the package's resource files."""

from typing import Any, Mapping


async def init(config: Mapping[str, Any]) -> None:
    """Called by the agent with an empty config; nothing to set up."""
