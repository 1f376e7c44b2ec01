"""``usage daily`` for a terminal: one row per day (or per day and model, project, machine
or agent), the window's total, and the models without a price."""

from __future__ import annotations

from agentsview.humanize import table
from sessions_app.usage.display import usd

BY = ("model", "project", "machine", "agent")
# the breakdown list of a day and the key naming its entry, per --by
_SLICES = {"model": ("modelBreakdowns", "model"), "project": ("projectBreakdowns", "project"),
           "machine": ("machineBreakdowns", "machineName"),
           "agent": ("agentBreakdowns", "agent")}


def _cost(entry: dict, key: str = "cost") -> str:
    cost = entry[key]
    text = usd(cost["microdollars"]) if cost is not None else "unknown"
    if entry["unpricedTokens"] and cost is not None:
        text += " +unpriced"
    return text


def _cells(entry: dict, key: str = "cost") -> list[str]:
    return [f"{entry['inputTokens']:,}", f"{entry['outputTokens']:,}",
            f"{entry['cacheReadTokens']:,}", f"{entry['cacheCreationTokens']:,}",
            _cost(entry, key)]


def render_daily(data: dict, by: str | None) -> str:
    if not data["daily"]:
        return f"No token usage from {data['from']} to {data['to']}."
    numbers = ["INPUT", "OUTPUT", "CACHE READ", "CACHE WRITE", "COST"]
    rows: list[list[str]] = []
    if by:
        listing, name = _SLICES[by]
        headers = ["DATE", by.upper(), *numbers]
        for day in data["daily"]:
            for entry in day[listing]:
                rows.append([day["date"], entry[name] or "(none)", *_cells(entry)])
        rows.append(["TOTAL", "", *_cells(data["totals"])])
    else:
        headers = ["DATE", *numbers, "MODELS"]
        for day in data["daily"]:
            rows.append([day["date"], *_cells(day, "totalCost"), ", ".join(day["modelsUsed"])])
        rows.append(["TOTAL", *_cells(data["totals"]), ""])
    right = set(range(len(headers) - len(numbers) - (0 if by else 1), len(headers)
                      - (0 if by else 1)))
    lines = [table(headers, rows, right=right)]
    if data["unpricedModels"]:
        lines.append("")
        lines.append("No price for: " + ", ".join(m or "(no model)" for m in
                                                   data["unpricedModels"])
                     + f" ({data['totals']['unpricedTokens']:,} tokens, not in COST; add"
                       " [pricing.\"<model>\"] to config.toml)")
    return "\n".join(lines)
