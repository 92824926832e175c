"""What a plan says, in words — shared by the text and Markdown renderers.

Turns `Action`s into lines tagged with a *style name* ("warning", "cost", "drift"…); the text
renderer maps style names to colours, the Markdown renderer ignores them. Keeping the wording in
one place means the terminal, the PR comment and the golden files never disagree.
This module must not print, and must not read anything but the plan: display only.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from reconciler.models.changes import ChangeClass
from reconciler.models.costs import format_money
from reconciler.models.envelope import format_duration
from reconciler.models.plans import Action, ActionType, FieldChange, Plan, ReplaceMode

VALUE_WIDTH = 72  # a value longer than this is cut, with "…"
FILES_SHOWN = 5  # file names listed per category before "and N more"
NONE_TEXT = "(none)"

ACTION_ORDER = (
    ActionType.CREATE,
    ActionType.UPDATE,
    ActionType.REPLACE,
    ActionType.DELETE,
    ActionType.CANCEL,
    ActionType.ADOPT,
    ActionType.FORGET,
    ActionType.WAIT,
)


@dataclass(frozen=True)
class Line:
    """One line under an action's heading. `style` is a name from `text.STYLES` ("" = plain)."""

    text: str
    style: str = ""


# ---------------------------------------------------------------------------------------------- values


def format_value(value: Any, width: int = VALUE_WIDTH) -> str:
    """JSON-ish and on one line: strings quoted, lists/dicts compact, long values cut with '…'."""
    if value is None:
        return NONE_TEXT
    try:
        text = json.dumps(value, ensure_ascii=False, separators=(", ", ": "), default=str)
    except (TypeError, ValueError):
        text = str(value)
    return text if len(text) <= width else text[: width - 1] + "…"


def short_digest(value: Any) -> str:
    if not isinstance(value, str) or not value:
        return NONE_TEXT
    head, sep, tail = value.rpartition(":")
    prefix = head + sep if sep else ""
    return prefix + (tail[:12] + "…" if len(tail) > 12 else tail)


def name_list(names: Iterable[str], shown: int = FILES_SHOWN) -> str:
    items = list(names)
    head = ", ".join(items[:shown])
    rest = len(items) - shown
    return f"{head} and {rest} more" if rest > 0 else head


def plural(n: int, word: str, many: str | None = None) -> str:
    return f"{n} {word if n == 1 else (many or word + 's')}"


# ---------------------------------------------------------------------------------------------- actions


def heading(action: Action) -> str:
    """`-/+ FineTune/money-rain  replace [retrain]` (no symbol padding; callers align)."""
    cls = (
        f" [{action.change_class.value}]"
        if action.change_class and action.action is not ActionType.NOOP
        else ""
    )
    word = "no change" if action.action is ActionType.NOOP else action.action.value
    moved = f" (moved from {action.moved_from})" if action.moved_from else ""
    return f"{action.address}{moved}  {word}{cls}"


def symbol(action: Action) -> str:
    return action.action.symbol.strip() or "·"


def action_lines(action: Action) -> list[Line]:
    """Everything shown under an action's heading, in reading order."""
    lines: list[Line] = []
    if action.reason:
        lines.append(Line(f"# {action.reason}", "drift" if action.drift else "reason"))
    lines += _change_lines(action)
    if action.content and action.action in (ActionType.CREATE, ActionType.REPLACE):
        lines.append(Line(content_text(action.content), "facts"))
    lines += _fact_lines(action)
    if action.cost is not None and action.cost.billable:
        if action.cost.training_steps is not None or action.kind == "FineTune":
            lines.append(Line(cost_text(action), "cost"))
        lines += [Line(text, "cost") for text in money_lines(action)]
    lines += [Line(f"warning: {w}", "warning") for w in action.warnings]
    mode = replace_mode_text(action)
    if mode:
        lines.append(Line(mode, "mode"))
    remote = _remote_id(action)
    if remote and action.action in (
        ActionType.UPDATE,
        ActionType.REPLACE,
        ActionType.DELETE,
        ActionType.CANCEL,
        ActionType.FORGET,
        ActionType.WAIT,
    ):
        lines.append(Line(f"remote id: {remote}", "dim"))
    if action.deposed:
        lines.append(Line(f"deposed object left by an interrupted replace: {action.deposed}", "dim"))
    return lines


def _change_lines(action: Action) -> list[Line]:
    out: list[Line] = []
    creating = action.action is ActionType.CREATE
    for c in action.changes:
        if creating and not c.outside:
            if c.after is None:
                continue  # an unset optional field: nothing will be sent
            out.append(Line(f"+ {c.path} = {_value_of(c, c.after)}", "create"))
            continue
        out.append(Line(change_text(c, action), "drift" if c.outside else _change_style(c)))
    return out


def change_text(c: FieldChange, action: Action | None = None) -> str:
    """`~ hyper_parameters.n_epochs: 150 → 300  [retrain]`, drift marked."""
    mark = "+" if c.before is None else "-" if c.after is None else "~"
    text = f"{mark} {c.path}: {_value_of(c, c.before)} → {_value_of(c, c.after)}"
    if c.outside:
        return f"{text}  (changed outside reconciler)"
    if action is not None and action.action is not ActionType.CREATE:
        text += f"  [{c.change_class.value}]"
    return text


def _value_of(c: FieldChange, value: Any) -> str:
    return short_digest(value) if c.path == "(content)" else format_value(value)


def _change_style(c: FieldChange) -> str:
    return {ChangeClass.LOCAL: "dim", ChangeClass.UPDATE: "update"}.get(c.change_class, "replace")


_FILE_FACTS = (("files_modified", "modified"), ("files_added", "added"), ("files_removed", "removed"))
_HIDDEN_FACTS = {"summary", "status", "progress", "old_object", "log_tail", "checkpoint"} | {
    k for k, _ in _FILE_FACTS
}


def _fact_lines(action: Action) -> list[Line]:
    facts = action.facts
    out: list[Line] = []
    files = [f"{word}: {name_list(facts[key])}" for key, word in _FILE_FACTS if facts.get(key)]
    if files:
        out.append(Line("files " + "; ".join(files), "facts"))
    if facts.get("running_for") and f"running for {facts['running_for']}" not in action.reason:
        out.append(Line(f"running for {facts['running_for']}", "facts"))
    if facts.get("checkpoint"):  # a checkpoint selector's resolution and its reason, in full
        out.append(Line(f"checkpoint: {facts['checkpoint']}", "facts"))
    for line in facts.get("log_tail") or []:  # a failed job's last log lines, as the provider wrote them
        out.append(Line(f"log: {line}", "warning"))
    if facts.get("old_object"):  # the provider cannot delete the object this replaces
        out.append(Line(f"old object: {facts['old_object']}", "warning"))
    if action.action is ActionType.NOOP and facts.get("status"):
        progress = f" ({facts['progress']})" if facts.get("progress") else ""
        out.append(Line(f"status: {facts['status']}{progress}", "dim"))
    for key in sorted(set(facts) - _HIDDEN_FACTS - {"running_for"}):
        out.append(Line(f"{key.replace('_', ' ')}: {format_value(facts[key])}", "facts"))
    return out


def content_text(content: dict[str, Any]) -> str:
    """`content: 23 files, 11 samples, 3,112 bytes` — what will be uploaded."""
    files = len(content.get("files") or {})
    parts = [plural(files, "file")]
    if content.get("sample_count") is not None:
        parts.append(plural(int(content["sample_count"]), "sample"))
    if content.get("total_bytes") is not None:
        parts.append(f"{int(content['total_bytes']):,} bytes")
    return "upload: " + ", ".join(parts)


def cost_text(action: Action) -> str:
    """`retrain: 1,200 training steps, about 8.0 GPU-hours (estimate)` — a retrain must be visible."""
    cost = action.cost
    assert cost is not None
    word = "retrain" if action.action is ActionType.REPLACE else "train"
    if cost.training_steps is not None and cost.estimated_gpu_hours is not None:
        return (
            f"{word}: {cost.training_steps:,} training steps, "
            f"about {cost.estimated_gpu_hours:.1f} GPU-hours (estimate)"
        )
    if cost.training_steps is not None:
        return f"{word}: {cost.training_steps:,} training steps"
    return f"{word}: {cost.note or 'a new training job'}"


def money_lines(action: Action) -> list[str]:
    """`cost: $24.30 (estimate: 486 × $0.05 per 1k training tokens; price: <source>)`, the queue line."""
    cost = action.cost
    if cost is None or not cost.billable:
        return []
    if cost.money is None or cost.currency is None:
        out = [f"cost: unknown ({cost.unknown or 'no price known'})"]
    else:
        basis = ""
        if cost.per and cost.per != "run" and cost.per in cost.quantities:
            basis = f"{cost.quantities[cost.per]:,.6g} × "
        how = "no charge" if cost.money == 0 else f"estimate: {basis}{cost.price}"
        out = [f"cost: {format_money(cost.money, cost.currency)} ({how})"]
        if cost.price_source:
            out.append(f"price source: {cost.price_source}")
    if cost.queued_behind:
        when = (
            f", about {format_duration(cost.queue_wait_hours * 3600)}"
            if cost.queue_wait_hours is not None
            else ", wait unknown"
        )
        jobs = "job" if cost.queued_behind == 1 else "jobs"
        out.append(
            f"queue: waits for a training slot on {action.provider} behind {cost.queued_behind} {jobs}{when}"
        )
    return out


def cost_total_text(plan: Plan) -> str | None:
    """`Estimated cost: at least $24.30 + 2 unknown; about 6.0 GPU-hours.` (None when nothing is billable)."""
    total = plan.cost_total
    if total is None or not plan.has_changes:
        return None
    if not total.money and not total.unknown and not total.gpu_hours:
        return None
    hours = f"about {total.gpu_hours:,.1f} GPU-hours" + (
        f" + {total.gpu_hours_unknown} unknown" if total.gpu_hours_unknown else ""
    )
    return f"Estimated cost: {total.money_text()}; {hours}."


def replace_mode_text(action: Action) -> str | None:
    if action.action is not ActionType.REPLACE or action.replace_mode is None:
        return None
    if action.facts.get("old_object"):  # the provider cannot delete the old one (its own line says why)
        if action.replace_mode is ReplaceMode.CREATE_BEFORE_DESTROY:
            return "create-before-destroy: the replacement is made first; the old one is then forgotten, not deleted"
        return "destroy-before-create: the old one is forgotten first (it cannot be deleted), then replaced"
    if action.replace_mode is ReplaceMode.CREATE_BEFORE_DESTROY:
        return "create-before-destroy: the replacement is made first; the old one is deleted once it is ready"
    why = {
        "FineTune": "the running job is canceled before the new one is submitted; "
        "until the new job succeeds there is no model from this fine-tune",
        "Deployment": "the deployed model name cannot exist twice, so the old deployment is deleted first; "
        "the model does not serve until the new deployment is RUNNING",
    }.get(action.kind, "the old object is deleted first; it is unavailable until the replacement is ready")
    return f"destroy-before-create: {why}"


def _remote_id(action: Action) -> str | None:
    prior = action.prior or {}
    remote = prior.get("remote_id")
    return str(remote) if remote else None


# ---------------------------------------------------------------------------------------------- plan


def shown_actions(plan: Plan) -> list[Action]:
    """Actions worth a block: every change and adopt, and no-ops that carry warnings."""
    return [a for a in plan.actions if a.action is not ActionType.NOOP or a.warnings]


def sections(plan: Plan) -> list[tuple[str, list[Action]]]:
    """(title, actions) in display order; empty sections left out."""
    shown = shown_actions(plan)
    drift = [a for a in shown if a.drift and a.action is not ActionType.NOOP]
    adopt = [a for a in shown if a.action is ActionType.ADOPT]
    noop = [a for a in shown if a.action is ActionType.NOOP]
    waiting = [a for a in shown if a.action is ActionType.WAIT]
    rest = [a for a in shown if a not in drift and a not in adopt and a not in noop and a not in waiting]
    own = (
        "Destroy (everything in the state)" if plan.operation == "destroy" else "Changes from your manifests"
    )
    out = [
        ("Unsettled on the provider: apply waits for these before it is done", waiting),
        ("Changes outside reconciler (drift)", drift),
        (own, rest),
        ("Found on the provider: adopted into state, no provider call", adopt),
        ("Unchanged, with warnings", noop),
    ]
    return [(title, items) for title, items in out if items]


def summary_line(plan: Plan) -> str:
    counts = _counts_line(plan)
    if plan.errors:  # e.g. a refresh that failed: what the providers hold is unknown, never "No changes"
        failed = f"Plan incomplete: {plural(len(plan.errors), 'error')}, so it cannot be applied"
        if not plan.has_changes:
            return f"{failed}; no changes could be determined."
        return f"{failed}. {counts}"
    return counts


def _counts_line(plan: Plan) -> str:
    s = plan.summary()
    if plan.mode == "refresh-only":
        if not plan.has_changes:
            return "No drift. The providers match the state."
        return (
            f"Drift: {plural(s.drift_changes, 'resource')} changed outside reconciler; "
            "apply --refresh-only records it in the state and changes nothing on the providers."
        )
    if not plan.has_changes:
        return (
            "No changes. The providers match the manifests."
            if plan.operation != "destroy"
            else "No changes. The state manages nothing to destroy."
        )
    replace_retrains = sum(
        1
        for a in plan.actions
        if a.action is ActionType.REPLACE and a.kind == "FineTune" and a.change_class is ChangeClass.RETRAIN
    )
    new_jobs = sum(1 for a in plan.actions if a.action is ActionType.CREATE and a.kind == "FineTune")
    parts = [
        f"{s.create} to create" + (f" ({plural(new_jobs, 'training job')})" if new_jobs else ""),
        f"{s.update} to update",
        f"{s.replace} to replace" + (f" ({plural(replace_retrains, 'retrain')})" if replace_retrains else ""),
        f"{s.delete} to delete",
        f"{s.cancel} to cancel",
    ]
    if s.adopt:
        parts.append(f"{s.adopt} to adopt")
    if s.forget:
        parts.append(f"{s.forget} to forget")
    if s.wait:
        parts.append(f"{s.wait} still settling on the provider (apply waits for it)")
    return "Plan: " + ", ".join(parts) + "."


def notes(plan: Plan) -> list[str]:
    """Sentences under the summary line: adopts with no changes, drift, unrefreshed plans."""
    s = plan.summary()
    out = []
    total = cost_total_text(plan)
    if total:
        out.append(total)
    if s.adopt and not plan.has_changes:
        out.append(
            f"{plural(s.adopt, 'resource')} found on the provider will be adopted into state "
            "(no provider calls)."
        )
    if s.drifted and plan.mode != "refresh-only":
        out.append(
            f"{plural(s.drifted, 'resource')} changed outside reconciler; "
            f"{plural(s.manifest_changes, 'change')} from the manifests."
        )
    if not plan.refreshed:
        out.append("Refresh was skipped: this plan compares with the cached state; drift cannot be seen.")
    return out


def diagnostic_text(d: dict[str, Any]) -> str:
    """`file:line:col: Kind/name: field: message` from a `Diagnostic.to_dict()`."""
    parts = []
    if d.get("file"):
        parts.append(f"{d['file']}:{d.get('line') or 1}:{d.get('column') or 1}")
    for key in ("address", "field"):
        if d.get(key):
            parts.append(str(d[key]))
    parts.append(str(d.get("message", "")))
    return ": ".join(parts)


def cause_line(plan: Plan) -> str:
    """`1 drift (changed outside reconciler) · 2 from the manifests · 0 unsettled` — what exit 2 means."""
    s = plan.summary()
    return (
        f"{s.drift_changes} drift (changed outside reconciler) · {s.manifest_changes} from the manifests · "
        f"{s.unsettled} unsettled on the provider"
    )


def header_lines(plan: Plan) -> list[str]:
    mode = ", refresh-only" if plan.mode == "refresh-only" else ""
    env = f", environment {plan.environment}" if plan.environment else ""
    first = f"Reconciler plan ({plan.operation}{mode}{env})" + (
        f", created {plan.created_at}" if plan.created_at else ""
    )
    out = [first]
    if plan.manifest_paths:
        out.append("manifests: " + ", ".join(plan.manifest_paths))
    state = f"state: {plan.state_path}" if plan.state_path else "state:"
    if plan.lineage:
        state += f" (lineage {plan.lineage[:8]}, serial {plan.serial})"
    else:
        state += " none yet" if not plan.state_path else " (new)"
    out.append(state)
    present = {a.action for a in plan.actions}  # one pass over the actions, not one per type
    used = [t for t in ACTION_ORDER if t in present]
    if used:
        out.append("symbols: " + "  ".join(f"{t.symbol} {t.value}" for t in used))
    return out


def output_value_text(key: str, value: Any) -> str:
    """One output as `output` and `show` print it: text as is, costs in words, anything else as JSON."""
    if key in ("cost_estimated", "cost_used") and isinstance(value, dict):
        return cost_output_text(value)
    return value if isinstance(value, str) else json.dumps(value)


def cost_output_text(value: dict[str, Any]) -> str:
    """`$24.30 (about 6.0 GPU-hours; $0.05 per 1k training tokens)` for `output`'s cost_estimated/cost_used."""
    money = value.get("money")
    currency = value.get("currency")
    head = format_money(float(money), str(currency)) if money is not None and currency else "unknown"
    parts = []
    if value.get("gpu_hours") is not None:
        parts.append(f"about {float(value['gpu_hours']):,.1f} GPU-hours")
    if value.get("reported"):
        parts.append(
            "reported by the provider: "
            + ", ".join(
                f"{amount:,.6g} {unit.replace('_', ' ')}" for unit, amount in value["reported"].items()
            )
        )
    if value.get("price"):
        parts.append(str(value["price"]))
    if money is None and value.get("unknown"):
        parts.append(str(value["unknown"]))
    return head + (f" ({'; '.join(parts)})" if parts else "")
