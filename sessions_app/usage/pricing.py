"""Model prices (``prices.toml``, shipped with the package, plus config.toml's
``[pricing."model-id"]``) and the exact cost of a usage record in integer microdollars.

A price is dollars per million tokens, so a usage record's cost in microdollars is
``sum(tokens of a kind × price of that kind)``, computed in ``Decimal`` and rounded half up
to a whole microdollar once per record (a message, or one model's session-level total). A
model without a price has no cost (``None``), never 0.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from functools import cache, cached_property
from pathlib import Path

import orjson

from agentsview.config import PRICE_KEYS, Config
from sessions_app.parsers.base import clamp_int

PRICES_FILE = Path(__file__).with_name("prices.toml")
# what may follow a priced family's id: a date or snapshot, a release tag, Bedrock's -v1:0
_SUFFIX = re.compile(r"(\d{4}-\d{2}-\d{2}|\d{4,}|latest|preview|exp|v\d)")
_SEPARATORS = "-@:."
_CLAUDE_DOT = re.compile(r"(?<=\d)\.(?=\d)")
_REGION = re.compile(r"^(?:(?:us|eu|apac|global)\.)?(?:anthropic\.)")


@dataclass(frozen=True)
class Tokens:
    """Tokens of one usage record, by kind (input is what no cache served)."""

    input: int = 0
    output: int = 0
    cache_read: int = 0
    cache_write: int = 0

    def __add__(self, other: Tokens) -> Tokens:
        # sums stop at the largest 64-bit integer, as every stored count does
        return Tokens(clamp_int(self.input + other.input), clamp_int(self.output + other.output),
                      clamp_int(self.cache_read + other.cache_read),
                      clamp_int(self.cache_write + other.cache_write))

    @property
    def total(self) -> int:
        return clamp_int(self.input + self.output + self.cache_read + self.cache_write)

    @property
    def context(self) -> int:
        """The prompt's size: everything read, cached or not."""
        return clamp_int(self.input + self.cache_read + self.cache_write)


@dataclass(frozen=True)
class Price:
    """Dollars per million tokens of each kind."""

    input: Decimal
    output: Decimal
    cache_read: Decimal
    cache_write: Decimal

    def cost(self, tokens: Tokens) -> int:
        exact = (tokens.input * self.input + tokens.output * self.output
                 + tokens.cache_read * self.cache_read + tokens.cache_write * self.cache_write)
        return clamp_int(int(exact.to_integral_value(rounding=ROUND_HALF_UP)))


@dataclass(frozen=True)
class PriceTable:
    """The prices in force: ``version`` names the table and any overrides, and is stored on
    every priced session, so a change re-prices the archive at the next sync."""

    version: str
    models: dict[str, Price] = field(hash=False)

    def price_of(self, model: str) -> Price | None:
        found = self._found
        if model not in found:
            key = self._key_of(normalize(model))
            found[model] = None if key is None else self.models[key]
        return found[model]

    def cost(self, model: str, tokens: Tokens) -> int | None:
        price = self.price_of(model)
        return None if price is None else price.cost(tokens)

    @cached_property
    def _found(self) -> dict[str, Price | None]:
        return {}

    @cached_property
    def _longest_first(self) -> tuple[str, ...]:
        return tuple(sorted(self.models, key=lambda k: (-len(k), k)))

    def _key_of(self, name: str) -> str | None:
        if not name:
            return None
        if name in self.models:
            return name
        for key in self._longest_first:
            if (len(name) > len(key) + 1 and name.startswith(key)
                    and name[len(key)] in _SEPARATORS and _SUFFIX.match(name, len(key) + 1)):
                return key
        return None


def normalize(model: str) -> str:
    """The id a price is looked up by: lower case, without a provider path or Bedrock's
    region and vendor prefix, Claude's version numbers with dashes."""
    name = _REGION.sub("", model.strip().lower().rsplit("/", 1)[-1])
    if name.startswith("claude-"):  # Copilot writes versions with dots: claude-sonnet-4.5
        name = _CLAUDE_DOT.sub("-", name)
    return name


def _price(entry: dict[str, object], where: str, base: Price | None = None) -> Price:
    values: dict[str, Decimal] = {}
    for kind in PRICE_KEYS:
        if kind in entry:
            values[kind] = Decimal(str(entry[kind]))
        elif base is not None:
            values[kind] = getattr(base, kind)
    if "input" not in values or "output" not in values:
        raise ValueError(f"{where}: a new model needs at least input and output prices")
    # a provider without cache prices bills cached tokens like any other input
    values.setdefault("cache_read", values["input"])
    values.setdefault("cache_write", values["input"])
    return Price(**values)


@cache
def builtin_table() -> PriceTable:
    """The shipped table alone."""
    raw = tomllib.loads(PRICES_FILE.read_text())
    models = {normalize(name): _price(entry, f"prices.toml {name}")
              for name, entry in raw["models"].items()}
    return PriceTable(version=str(raw["version"]), models=models)


_TABLES: dict[tuple, PriceTable] = {}


def price_table(config: Config | None = None) -> PriceTable:
    """The shipped table with config.toml's ``[pricing]`` overrides (a model's missing kinds
    keep the shipped price; a new model's missing cache prices are its input price)."""
    base = builtin_table()
    overrides = config.pricing if config is not None else ()
    if not overrides:
        return base
    table = _TABLES.get(overrides)
    if table is None:
        models = dict(base.models)
        for model, kinds in overrides:
            key = normalize(model)
            try:
                models[key] = _price(dict(kinds), f'[pricing."{model}"]', models.get(key))
            except ValueError as exc:
                from agentsview.config import ConfigError
                raise ConfigError(f"config error: {config.config_path}: {exc}") from None
        digest = hashlib.sha256(orjson.dumps([[m, list(k)] for m, k in overrides])).hexdigest()
        table = _TABLES[overrides] = PriceTable(version=f"{base.version}+{digest[:12]}",
                                                models=models)
    return table
