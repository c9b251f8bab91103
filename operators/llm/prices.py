"""What a model call costs, in USD.

Prices come, in order, from the configuration (``price_in_per_mtok`` /
``price_out_per_mtok``, or ``--price-in`` / ``--price-out``), then from the
``genai-prices`` package (part of the ``[llm]`` extra), a price table for the common
OpenAI, Anthropic and other hosted models that its maintainers keep current and that
ships its data inside the package (nothing is fetched at run time). It also knows
tiered prices (e.g. long prompts on Claude), so each call is priced with its own token
counts. Local models (``vllm:``, ``hf:``, an ``openai-compat:`` server on this machine)
cost nothing. Anything else has an unknown price: its cost is counted as 0, and a
``max_cost`` cap is refused for it, since it could never stop the campaign.
"""

from __future__ import annotations

import functools
import logging
from decimal import Decimal

from evolve.operators.llm.specs import is_local_url, parse_spec

log = logging.getLogger(__name__)
_PROVIDERS = {"openai": "openai", "anthropic": "anthropic"}


def _table_price(spec: str, input_tokens: int, output_tokens: int) -> float | None:
    """The price table's cost of one call, or None when the table does not know the model."""
    try:
        from genai_prices import Usage, calc_price
    except ImportError:
        return None
    parsed = parse_spec(spec)
    if parsed.kind not in ("openai", "anthropic", "openai-compat") or not parsed.model:
        return None
    usage = Usage(input_tokens=input_tokens, output_tokens=output_tokens)
    try:
        if parsed.kind == "openai-compat":  # a hosted gateway is recognised by its address
            done = calc_price(usage, parsed.model, provider_api_url=parsed.base_url)
        else:
            done = calc_price(usage, parsed.model, provider_id=_PROVIDERS[parsed.kind])
    except LookupError:
        return None
    return float(Decimal(done.total_price))


def is_free(spec: str) -> bool:
    """Models that run on this machine: no bill."""
    parsed = parse_spec(spec)
    return parsed.kind in ("vllm", "hf") or (parsed.kind == "openai-compat" and is_local_url(parsed.base_url))


@functools.cache
def price_known(spec: str) -> bool:
    return is_free(spec) or _table_price(spec, 1000, 1000) is not None


def call_cost(
    spec: str, price_in: float | None, price_out: float | None, input_tokens: int, output_tokens: int
) -> float:
    """USD for one call: configured prices win (per million tokens), then the table."""
    if price_in is not None or price_out is not None:
        return (input_tokens * (price_in or 0.0) + output_tokens * (price_out or 0.0)) / 1e6
    if is_free(spec):
        return 0.0
    return _table_price(spec, input_tokens, output_tokens) or 0.0
