"""Problem folders written for other engines, run unchanged: OpenEvolve and ShinkaEvolve.

Their evaluators import the candidate, so they run inside the sandbox next to it and the
metrics they report are claims: campaigns on such folders are labelled "scores reported
by an untrusted evaluator" in status and export.
"""

from evolve.problems.peers.detect import peer_kind
from evolve.problems.peers.load import load_peer_folder

__all__ = ["load_peer_folder", "peer_kind"]
