"""A hand-made campaign for the fine-tuning tests.

The campaign (programs + LLM calls as plain dicts, the fields archive.Archive returns)
is small enough to know by heart which examples and pairs every builder must pick:

  1  seed, ok, fitness 1.0
  P1 (parent 1, prompt A, four siblings of one prompt + failures):
     2 ok 3.0 | 3 ok 2.0 | 4 ok 0.5 (worse than parent) | 5 error | 6 rejected | 7 duplicate
  P2 (parent 2, prompt B):       8 ok 4.0
  P3 (parent 1, prompt C):       9 ok 2.5 | 10 timeout
  P4 (parent 1, prompt D):       11 ok 2.9, the code of 2 reformatted (an exact duplicate)
"""

from __future__ import annotations

from types import SimpleNamespace

# Distinct enough that no two are near-duplicates at the default 0.95 similarity.
BODIES = [
    "return 0",
    "return 1",
    "return 2 + 2",
    "xs = [1, 2]\n    return len(xs)",
    "return max(3, 4)",
    "import math\n    return math.pi",
    "return sum(range(10))",
    "return abs(-7)",
    "s = 'abc'\n    return len(s) * 3",
    "return 2 ** 10",
    "return min([9, 8, 7])",
    "return round(2.5)",
]


def code(n: int) -> str:
    return f"def main():\n    {BODIES[n]}\n"


def prompt(parent_code: str, tag: str, target: float = 1.5) -> list[dict[str, str]]:
    return [
        {"role": "system", "content": "You improve Python programs."},
        {
            "role": "user",
            "content": f"Task {tag}.\nParent:\n{parent_code}\nCurrent: score = 1\nTarget: score = {target}\n",
        },
    ]


def make_campaign() -> tuple[list[dict], list[dict]]:
    programs: list[dict] = []
    calls: list[dict] = []

    def add(pid, status, fitness, parents=(), src=None, response=None, prompt_msgs=None):
        programs.append(
            {
                "id": pid,
                "seq": pid,
                "code": src if src is not None else code(pid),
                "status": status,
                "fitness": fitness,
                "objective": None if fitness is None else fitness * 10,
                "parent_ids": list(parents),
                "metrics": {},
                "model": "openai:m",
                "operator": "llm.full",
            }
        )
        if prompt_msgs is not None:
            calls.append(
                {
                    "program_id": pid,
                    "seq": pid,
                    "model": "openai:m",
                    "purpose": "propose",
                    "prompt": prompt_msgs,
                    "response": response or f"RESPONSE {pid}",
                }
            )

    a, b, c = prompt(code(1), "A"), prompt(code(2), "B"), prompt(code(1), "C")
    add(1, "ok", 1.0)
    add(2, "ok", 3.0, [1], prompt_msgs=a)
    add(3, "ok", 2.0, [1], prompt_msgs=a)
    add(4, "ok", 0.5, [1], prompt_msgs=a)
    add(5, "error", None, [1], prompt_msgs=a)
    add(6, "rejected", None, [1], src="", prompt_msgs=a)
    add(7, "duplicate", None, [1], src=code(2), prompt_msgs=a)
    add(8, "ok", 4.0, [2], prompt_msgs=b)
    add(9, "ok", 2.5, [1], prompt_msgs=c)
    add(10, "timeout", None, [1], prompt_msgs=c)
    # Same program as 2, only comments and spacing differ; a text prompt (not chat).
    add(
        11, "ok", 2.9, [1], src="def main():\n    return (2+2)   # four\n\n", prompt_msgs="Task D, no target line here."
    )
    # A reflection call about program 2 must not be mistaken for its proposal.
    calls.append(
        {
            "program_id": 2,
            "seq": 99,
            "model": "openai:m",
            "purpose": "reflect",
            "prompt": [{"role": "user", "content": "reflect"}],
            "response": "REFLECTION",
        }
    )
    return programs, calls


class FakeArchive:
    """The read side of archive.Archive that fine-tuning uses."""

    def __init__(self, programs, calls, name="demo"):
        self._programs, self._calls, self.name = programs, calls, name

    def get_campaign(self, name):
        return SimpleNamespace(id=7, name=name) if name == self.name else None

    def programs(self, campaign_id, limit=None):
        assert campaign_id == 7
        return [SimpleNamespace(**p) for p in self._programs]

    def llm_calls(self, campaign_id=None, program_id=None):
        assert campaign_id == 7
        return [SimpleNamespace(**c) for c in self._calls]
