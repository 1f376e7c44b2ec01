"""Token usage and cost: the price table (``prices.toml``, ``pricing``), the usage records of
a session and the columns they give it (``records``), and the reads the usage endpoints, the
CLI and the pages share (``selectors``)."""
