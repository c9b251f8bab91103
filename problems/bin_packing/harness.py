"""Runs inside the sandbox: FunSearch's online packing loop, one item per message.

The trusted driver sends only the public facts of an instance, then the items one at a
time; this loop answers each with the chosen bin index (into an array of ``num_items``
bins that all start at full capacity). The driver re-checks every answer.
"""

import numpy as np


def run(program, case, channel):
    capacity = case["capacity"]
    bins = np.array([capacity for _ in range(case["num_items"])])
    for _ in range(case["num_items"]):
        item = channel.recv()
        valid = np.nonzero((bins - item) >= 0)[0]
        priorities = program.priority(item, bins[valid])
        chosen = int(valid[np.argmax(priorities)])
        bins[chosen] -= item
        channel.send(chosen)
    return None
