"""Money in the plan: prices with their sources, unknown never 0, spec.pricing, WaveSpeed's pricing
endpoint, and what apply records as used beside the estimate."""

from __future__ import annotations

import json

import pytest

from reconciler.models.plans import Plan
from reconciler.providers.dashscope.economics import TOKENS_PER_SAMPLE_PASS, TRAINING_PRICES
from reconciler.render import plan_from_json, plan_to_json, plan_to_markdown, plan_to_text
from reconciler.sandbox.wavespeed.pricing import TRAINER_PRICE_PER_STEP


def _action(plan: Plan, address: str):
    return next(a for a in plan.actions if a.address == address)


def test_the_quickstart_plan_prices_training_with_its_source_and_totals_it(make_env):
    plan = make_env().workspace().plan()
    ft = _action(plan, "FineTune/money-rain")
    assert ft.cost is not None and ft.cost.training_steps == 900
    price = TRAINING_PRICES["wan2.5-i2v-preview"]
    tokens_k = 900 * 2 * TOKENS_PER_SAMPLE_PASS / 1000  # steps × batch_size × tokens per sample pass
    assert ft.cost.money == pytest.approx(tokens_k * price.amount) and ft.cost.currency == "USD"
    assert (
        ft.cost.price_source is not None and "model-training-and-deployment-billing" in ft.cost.price_source
    )
    assert "2026-03-18" in ft.cost.price_source  # the page's date, next to the price
    assert ft.cost.estimated_gpu_hours == pytest.approx(6.0)
    # a documented free deployment is 0 with its source; an unknown price is None, never 0
    dep = _action(plan, "Deployment/money-rain")
    assert dep.cost is not None and dep.cost.money == 0.0 and dep.cost.price_source
    export = _action(plan, "CheckpointExport/money-rain-c600")
    assert export.cost is not None and export.cost.money is None and export.cost.unknown
    total = plan.cost_total
    assert total is not None
    assert total.money == {"USD": pytest.approx(ft.cost.money)} and total.unknown == 2
    assert total.gpu_hours == pytest.approx(6.0)
    line = f"Estimated cost: at least ${ft.cost.money:,.2f} + 2 unknown; about 6.0 GPU-hours."
    text = plan_to_text(plan)
    assert line in text and "cost: unknown (no known price for CheckpointExport" in text
    assert line in plan_to_markdown(plan)
    again = plan_from_json(plan_to_json(plan))
    assert again.cost_total == total and json.loads(plan_to_json(plan))["cost_total"]["unknown"] == 2


def test_spec_pricing_overrides_the_table_and_prices_the_unknowns(make_env):
    env = make_env()
    env.edit(
        "provider.yaml",
        "api_key_env: DASHSCOPE_API_KEY",
        "api_key_env: DASHSCOPE_API_KEY\n"
        "  pricing:\n"
        "    wan2.5-i2v-preview: {amount: 0.04, currency: USD, per: 1k_training_tokens, source: our contract 2026}\n"
        "    Dataset: {amount: 0, currency: USD, per: run}\n"
        "    CheckpointExport: {amount: 0.5, currency: USD, per: run}\n",
    )
    plan = env.workspace().plan()
    ft = _action(plan, "FineTune/money-rain")
    assert ft.cost is not None and ft.cost.money == pytest.approx(486 * 0.04)
    assert ft.cost.price_source == "Provider/dashscope spec.pricing.wan2.5-i2v-preview (our contract 2026)"
    assert plan.cost_total is not None and plan.cost_total.unknown == 0
    assert plan.cost_total.money == {"USD": pytest.approx(486 * 0.04 + 0.5)}
    assert f"Estimated cost: ${486 * 0.04 + 0.5:,.2f}; about 6.0 GPU-hours." in plan_to_text(plan)


def test_a_price_in_another_currency_is_not_a_number_in_usd(make_env):
    env = make_env()
    env.edit(
        "provider.yaml",
        "api_key_env: DASHSCOPE_API_KEY",
        "api_key_env: DASHSCOPE_API_KEY\n"
        "  pricing:\n    wan2.5-i2v-preview: {amount: 0.3, currency: CNY, per: 1k_training_tokens}\n",
    )
    total = env.workspace().plan().cost_total
    assert total is not None and total.money == {
        "CNY": pytest.approx(145.8),
        "USD": 0.0,
    }  # the free deployment
    assert total.money_text() == "at least ¥145.80 + 2 unknown"


def test_an_unpriced_provider_says_unknown_never_zero(make_env):
    plan = make_env("manifests/examples/imgopen").workspace().plan(refresh=False)
    trainings = [a for a in plan.actions if a.kind == "FineTune"]
    assert trainings and all(a.cost is not None and a.cost.money is None for a in trainings)
    assert plan.cost_total is not None and plan.cost_total.money == {}
    assert plan.cost_total.money_text().endswith("unknown") and "$0.00 +" in plan.cost_total.money_text()
    assert "cost: unknown (no known price for" in plan_to_text(plan)


def test_wavespeed_trainings_are_priced_by_its_pricing_endpoint(make_env):
    env = make_env("manifests/examples/wavespeed")
    env.sandbox.reset_counts()
    plan = env.workspace().plan()
    counts = env.sandbox.request_counts()
    trainings = [a for a in plan.actions if a.kind == "FineTune"]
    assert counts.get("POST /api/v3/model/pricing") == len(trainings) >= 1
    for a in trainings:
        assert a.cost is not None and a.cost.price_source and "pricing endpoint" in a.cost.price_source
        assert a.cost.money == pytest.approx(a.cost.quantities["training_step"] * TRAINER_PRICE_PER_STEP)
        assert a.cost.estimated_gpu_hours is not None
    # offline, only the endpoint knew: unknown, not 0
    offline = env.workspace().plan(refresh=False)
    assert all(a.cost is not None and a.cost.money is None for a in offline.actions if a.kind == "FineTune")


def test_apply_records_what_the_provider_reports_as_used_beside_the_estimate(make_env):
    env = make_env()
    ws = env.workspace()
    _, result = ws.apply()
    assert result is not None and result.ok
    out = ws.outputs()["FineTune/money-rain"]
    estimated, used = out["cost_estimated"], out["cost_used"]
    job = next(j for j in env.live("fine_tunes"))
    assert used["reported"] == {"1k_training_tokens": job["usage"] / 1000}  # DashScope's `usage`
    assert used["money"] == pytest.approx(job["usage"] / 1000 * 0.05) and used["currency"] == "USD"
    assert estimated["money"] == pytest.approx(24.3) and estimated["gpu_hours"] == pytest.approx(6.0)


def test_wavespeed_usage_comes_from_the_prediction_timings(make_env):
    env = make_env("manifests/examples/wavespeed")
    ws = env.workspace()
    _, result = ws.apply()
    assert result is not None and result.ok
    used = ws.outputs()["FineTune/product-shots"]["cost_used"]
    assert used["gpu_hours"] > 0 and used["reported"]["run"] == 1
    assert used["money"] == pytest.approx(ws.outputs()["FineTune/product-shots"]["cost_estimated"]["money"])


def test_a_no_change_plan_shares_one_no_work_cost_and_each_new_job_has_its_own(make_env):
    """The actions that start no work share one `Cost` (one per resource was 0.5 KB each); what is
    changed in place later (a quote's failure, a queue place) is a billable action's own cost."""
    env = make_env()
    ws = env.workspace()
    fresh = ws.plan()
    billable = [a.cost for a in fresh.actions if a.cost is not None and a.cost.billable]
    assert len(billable) >= 2 and len({id(c) for c in billable}) == len(billable)
    _, result = ws.apply()
    assert result is not None and result.ok
    quiet = ws.plan()
    costs = [a.cost for a in quiet.actions]
    assert costs and all(c is costs[0] for c in costs)  # no new work anywhere: one object
    assert costs[0] is not None and not costs[0].billable and costs[0].note == "no new provider work"
    assert plan_from_json(plan_to_json(quiet)).actions[0].cost == costs[0]
