"""The settings of a MAP-Elites grid (kept apart from the grid code: config validation
imports this without numpy)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class GridConfig(BaseModel):
    """Fixed bins ``dims = [[name, low, high, bins], ...]``, or CVT centroids over the dims' boxes."""

    model_config = ConfigDict(extra="forbid")
    dims: list[tuple[str, float, float, int]] = Field(
        default_factory=lambda: [("code_length", 0.0, 2000.0, 10), ("ast_depth", 0.0, 20.0, 10)],
        description="descriptor name, low, high, bins (from the problem's descriptors or the built-in code ones)",
    )
    cvt_cells: int | None = Field(None, ge=2, description="use CVT with this many cells over the dims' boxes")
