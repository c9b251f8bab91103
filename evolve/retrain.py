"""The SOAR cycle inside a campaign: search, fine-tune the operator model on what was
found, switch the operator to the new model, search again.

Every ``finetune_every`` stored proposals the loop drains what is in flight and awaits
``Retrainer.__call__``; training runs in a thread. When a round produced a model, the
LLM operator is rebuilt on ``hf:<merged model>`` and every later child records that
model. A round with too little data yet is skipped, not failed.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

log = logging.getLogger(__name__)


class Retrainer:
    def __init__(self, campaign, evaluator):
        from evolve.finetune import FinetuneSchedule, sandbox_evaluator

        cfg = campaign.config
        base = cfg.finetune_base.removeprefix("hf:")
        out = Path(cfg.finetune_out or Path("finetune") / campaign.name)
        opts = {"max_steps": cfg.finetune_steps} if cfg.finetune_steps else {}
        evaluate = sandbox_evaluator(campaign.problem, evaluator.sandbox) if cfg.finetune_method == "grpo" else None
        self.campaign = campaign
        self.every = cfg.finetune_every
        self.schedule = FinetuneSchedule(
            base=base,
            out_root=out,
            every=cfg.finetune_every,
            method=cfg.finetune_method,
            evaluate=evaluate,
            train_opts=opts,
        )
        rounds = campaign.archive.events(campaign.info.id, kind="finetune")
        if rounds:  # resuming: continue after the last round, with its model
            self.schedule.last_at = rounds[-1].data["at"]
            self.schedule.rounds = len(rounds)
            self.schedule.current_spec = rounds[-1].data["model"]

    def current_operator(self):
        """The operator for a resumed campaign: built on the last fine-tuned model, if any."""
        if self.schedule.current_spec is None:
            return None
        return self._build(self.schedule.current_spec)

    def _build(self, spec: str):
        from evolve.operators.llm import build_operator

        llm = self.campaign.config.llm
        first = llm.models[0].model_copy(update={"spec": spec, "base_url": None, "api_key_env": None})
        return build_operator(llm.model_copy(update={"models": [first]}))

    def due(self, proposals_done: int) -> bool:
        return self.schedule.due(proposals_done)

    async def __call__(self, operator, proposals_done: int):
        """Run a round if due; returns the operator to use from now on."""
        c = self.campaign
        spec = await asyncio.to_thread(self.schedule.maybe_run, c.archive, c.name, proposals_done)
        if spec is None:
            return operator
        new = self._build(spec)
        await new.start()
        await operator.close()
        c.archive.log_event(
            c.info.id, "finetune", {"at": proposals_done, "model": spec, "method": self.schedule.method}
        )
        log.info("operator model is now %s", spec)
        return new
