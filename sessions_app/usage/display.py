"""Amounts and token counts as people read them (terminals, pages): integer arithmetic only,
so what is shown is the stored amount, rounded once."""

from __future__ import annotations


def usd(microdollars: int | None, *, exact: bool = False, unknown: str = "unknown") -> str:
    """``$1,234.57`` (cents, rounded half up), or every microdollar with *exact*
    (``$0.114516``); *unknown* for None (a model without a price: never ``$0.00``)."""
    if microdollars is None:
        return unknown
    sign = "-" if microdollars < 0 else ""
    value = abs(microdollars)
    if exact:
        return f"{sign}${value // 1_000_000:,}.{value % 1_000_000:06d}"
    cents = (value + 5_000) // 10_000
    if cents == 0 and value:
        return f"{sign}<$0.01"
    return f"{sign}${cents // 100:,}.{cents % 100:02d}"


def tokens(count: int) -> str:
    """``1,234``, ``1.2M``: short above a million."""
    if count >= 10_000_000:
        return f"{count / 1_000_000:.0f}M"
    if count >= 1_000_000:
        return f"{count / 1_000_000:.1f}M"
    return f"{count:,}"


def render_usage(u: dict) -> str:
    """``session usage`` for a terminal, from the API's JSON."""
    def line(label: str, value: str) -> str:
        return f"{label + ':':<14} {value}"

    lines = [line("Session", u["session_id"]), line("Agent", u["agent"]),
             line("Project", u["project"]),
             line("Output", f"{u['total_output_tokens']:,} tokens"),
             line("Peak ctx", f"{u['peak_context_tokens']:,} tokens")]
    if "subagent_count" in u:
        lines.append(line("Subagents", f"{u['subagent_count']} (included)"))
    rows = u["breakdown"]
    if rows:
        kinds = {"input": "input_tokens", "output": "output_tokens",
                 "cache read": "cache_read_input_tokens",
                 "cache write": "cache_creation_input_tokens"}
        lines.append(line("Tokens", " · ".join(
            f"{name} {sum(r[key] for r in rows):,}" for name, key in kinds.items())))
    models = ", ".join(u["models"])
    if u["has_cost"]:
        cost = usd(u["cost"]["microdollars"], exact=True)
        lines.append(line("Cost", f"{cost} ({models})" if models else cost))
    elif u["unpriced_models"]:
        names = ", ".join(m or "(no model)" for m in u["unpriced_models"])
        lines.append(line("Cost", f"unknown (no price for: {names})"))
    else:
        lines.append(line("Cost", "n/a (no token data)"))
    return "\n".join(lines)
