"""The price table: matching a model id, exact costs, config.toml's ``[pricing]``, and the
re-pricing of the archive when the prices in force change (pushed by the next push)."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command

from agentsview.config import ConfigError, load_config
from sessions_app.models import Message, Session
from sessions_app.usage import pricing
from sessions_app.usage.pricing import Price, PriceTable, Tokens, builtin_table, price_table
from sessions_app.usage.records import USAGE_VERSION
from sync_app.services.push import SESSION_PUSH_COLUMNS

RICH = "7f3c1e2a-5b6d-4e8f-9a0b-1c2d3e4f5a6b"
OPUS_46 = "9b8a7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"
RICH_COST = 114516


@pytest.mark.parametrize(("model", "key"), [
    ("claude-sonnet-4-5", "claude-sonnet-4-5"),
    ("claude-sonnet-4-5-20250929", "claude-sonnet-4-5"),
    ("Claude-Sonnet-4-5-20250929", "claude-sonnet-4-5"),
    ("anthropic/claude-3-5-sonnet-latest", "claude-3-5-sonnet"),
    ("us.anthropic.claude-sonnet-4-5-20250929-v1:0", "claude-sonnet-4-5"),
    ("claude-sonnet-4.5", "claude-sonnet-4-5"),  # Copilot's spelling
    ("claude-opus-4-5-20251101", "claude-opus-4-5"),
    ("gpt-5-codex", "gpt-5-codex"),
    ("gpt-4o-2024-08-06", "gpt-4o"),
    ("o3-2025-04-16", "o3"),
    ("models/gemini-2.5-pro-preview-06-05", "gemini-2.5-pro"),
    ("gemini-2.5-flash-lite", "gemini-2.5-flash-lite"),
    # a name that may price differently matches nothing rather than a wrong price
    ("claude-opus-4-7", None), ("o3-pro", None), ("gpt-5.2", None), ("gpt-5-pro", None),
    ("", None), ("claude-opus-4-6", None),
])
def test_a_model_matches_its_exact_id_then_its_family(model, key):
    table = builtin_table()
    expected = None if key is None else table.models[key]
    assert table.price_of(model) == expected


def test_costs_are_exact_microdollars_rounded_half_up_once():
    price = Price(Decimal("1.25"), Decimal("10"), Decimal("0.125"), Decimal("1.25"))
    assert price.cost(Tokens(4300, 340, 14500, 0)) == 10588  # 10587.5
    assert price.cost(Tokens(1, 0, 0, 0)) == 1  # 1.25
    assert price.cost(Tokens(0, 0, 3, 0)) == 0  # 0.375
    assert price.cost(Tokens(0, 0, 4, 0)) == 1  # 0.5
    sonnet = builtin_table().price_of("claude-sonnet-4-5")
    assert sonnet.cost(Tokens(12, 180, 18000, 1500)) == 13761
    # a billion tokens stays exact
    assert sonnet.cost(Tokens(10**9, 10**9, 10**9, 10**9)) == (3 + 15 + Decimal("0.3")
                                                                 + Decimal("3.75")) * 10**9
    assert builtin_table().cost("unknown-model", Tokens(1, 1)) is None


def write_config(agent_env, text: str) -> None:
    (agent_env["data"] / "config.toml").write_text(text)


def test_config_overrides_and_adds_prices(agent_env):
    write_config(agent_env, '[pricing."claude-opus-4-6"]\ninput = 5\noutput = "25"\n'
                            'cache_read = 0.5\n\n[pricing."claude-sonnet-4-5"]\noutput = 16\n')
    config = load_config()
    assert config.pricing == (("claude-opus-4-6", (("input", "5"), ("output", "25"),
                                                   ("cache_read", "0.5"))),
                              ("claude-sonnet-4-5", (("output", "16"),)))
    table = price_table(config)
    assert table.version.startswith(builtin_table().version + "+")
    opus = table.price_of("claude-opus-4-6-20260101")
    assert opus == Price(Decimal(5), Decimal(25), Decimal("0.5"), Decimal(5))
    sonnet = table.price_of("claude-sonnet-4-5")  # the other kinds keep the shipped price
    assert (sonnet.output, sonnet.input) == (Decimal(16), Decimal(3))
    assert price_table(load_config()) is table  # one table per override set
    assert price_table(None) is builtin_table()


@pytest.mark.parametrize(("text", "message"), [
    ('[pricing."m"]\ninput = -1\noutput = 1\n', "non-negative number"),
    ('[pricing."m"]\ninput = "cheap"\noutput = 1\n', "non-negative number"),
    ('[pricing."m"]\ninput = true\noutput = 1\n', "non-negative number"),
    ('[pricing."m"]\ninput = nan\noutput = 1\n', "non-negative number"),
    ('[pricing."m"]\ninput = 1\nouput = 1\n', "unknown key 'ouput'"),
    ('[pricing."m"]\n', "names no price"),
    ('[pricing]\nm = 3\n', 'must be a table'),
    ('pricing = 3\n', "must be a table"),
])
def test_bad_pricing_is_a_one_line_config_error(agent_env, text, message):
    write_config(agent_env, text)
    with pytest.raises(ConfigError) as err:
        load_config()
    assert message in str(err.value) and "\n" not in str(err.value)


def test_a_new_model_without_an_output_price_is_refused(agent_env):
    write_config(agent_env, '[pricing."brand-new"]\ninput = 1\n')
    with pytest.raises(ConfigError, match="at least input and output"):
        price_table(load_config())


def sync() -> None:
    call_command("sync", stdout=StringIO(), stderr=StringIO())


def usage_of(session_id: str, using: str = "default") -> tuple:
    return Session.objects.using(using).filter(pk=session_id).values_list(
        "cost_microdollars", "pricing_version", "local_modified_at").get()


@pytest.mark.django_db(databases=["default", "pg"], transaction=True)
def test_a_price_change_reprices_the_archive_and_the_push_carries_it(archive, monkeypatch):
    cost, version, _ = usage_of(OPUS_46)
    assert cost is None and version == f"u{USAGE_VERSION}:{builtin_table().version}"
    # config.toml prices Opus 4.6: the next sync re-prices every session from stored rows
    write_config(archive, '[pricing."claude-opus-4-6"]\ninput = 5\noutput = 25\n'
                          'cache_read = "0.50"\ncache_write = "6.25"\n')
    sync()
    cost, version, modified = usage_of(OPUS_46)
    assert cost == 250 * 5 + 100 * 25 + 5000 // 2 and version.startswith(
        f"u{USAGE_VERSION}:{builtin_table().version}+")
    stored = dict(Message.objects.filter(session_id=OPUS_46).exclude(token_usage="")
                  .values_list("ordinal", "cost_microdollars"))
    assert sum(stored.values()) == cost
    assert usage_of(RICH)[:2] == (RICH_COST, version)
    call_command("pg_push", "--no-sync", stdout=StringIO(), stderr=StringIO())
    assert usage_of(OPUS_46, "pg")[:2] == (cost, version)
    columns = [c for c in SESSION_PUSH_COLUMNS if c != "machine"]
    assert (list(Session.objects.using("pg").order_by("id").values_list(*columns))
            == list(Session.objects.order_by("id").values_list(*columns)))
    # an unchanged sync re-prices nothing
    sync()
    assert usage_of(OPUS_46)[2] == modified

    # a new version of the shipped table (a price changed): re-priced at the next sync
    base = builtin_table()
    cheaper = dict(base.models, **{"claude-sonnet-4-5": replace(
        base.models["claude-sonnet-4-5"], output=Decimal(14))})
    bumped = PriceTable(version=base.version + "-bumped", models=cheaper)
    monkeypatch.setattr(pricing, "builtin_table", lambda: bumped)
    write_config(archive, "")
    sync()
    cost, version, _ = usage_of(RICH)
    assert version == f"u{USAGE_VERSION}:{bumped.version}" and cost == RICH_COST - 1395
    assert usage_of(OPUS_46)[0] is None  # the override is gone: unknown again, not 0
    call_command("pg_push", "--no-sync", stdout=StringIO(), stderr=StringIO())
    assert usage_of(RICH, "pg")[:2] == (cost, version)
    pg_costs = list(Message.objects.using("pg").order_by("session_id", "ordinal")
                    .values_list("session_id", "ordinal", "cost_microdollars"))
    assert pg_costs == list(Message.objects.order_by("session_id", "ordinal")
                            .values_list("session_id", "ordinal", "cost_microdollars"))


@pytest.mark.django_db
def test_a_new_usage_version_reprices_from_stored_rows(archive, monkeypatch):
    from sessions_app.usage import records

    before = usage_of(RICH)
    monkeypatch.setattr(records, "USAGE_VERSION", USAGE_VERSION + 1)
    sync()
    cost, version, modified = usage_of(RICH)
    assert cost == before[0] == RICH_COST and version.startswith(f"u{USAGE_VERSION + 1}:")
    assert modified > before[2]
