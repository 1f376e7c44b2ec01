"""The analytics pages of the dashboard: the analytics API's numbers drawn as SVG charts."""
