"""Sessions, messages and tool calls: the models, the agent parsers, local sync and the reads."""
