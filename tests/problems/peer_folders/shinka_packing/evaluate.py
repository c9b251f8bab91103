"""Check a packing of 8 circles and report the sum of radii (ShinkaEvolve layout)."""

import argparse

import numpy as np
from shinka.core import run_shinka_eval

N = 8


def validate_packing(result):
    centers, radii, _reported = result
    centers, radii = np.asarray(centers, dtype=float), np.asarray(radii, dtype=float)
    if centers.shape != (N, 2) or radii.shape != (N,):
        return False, f"expected {N} centres and radii, got shapes {centers.shape} and {radii.shape}"
    if not (np.all(np.isfinite(centers)) and np.all(np.isfinite(radii))) or np.any(radii < 0):
        return False, "radii must be finite and non-negative"
    if np.any(centers - radii[:, None] < -1e-12) or np.any(centers + radii[:, None] > 1 + 1e-12):
        return False, "a circle sticks out of the unit square"
    for i in range(N):
        for j in range(i + 1, N):
            if np.hypot(*(centers[i] - centers[j])) < radii[i] + radii[j] - 1e-12:
                return False, f"circles {i} and {j} overlap"
    return True, None


def aggregate(results):
    centers, radii, reported = results[0]
    total = float(np.sum(radii))
    return {
        "combined_score": total,
        "public": {"sum_radii": total, "smallest": float(np.min(radii))},
        "private": {"reported_sum": float(reported)},
        "text_feedback": f"sum of radii {total:.4f}; the largest circle has radius {float(np.max(radii)):.4f}",
    }


def main(program_path, results_dir):
    metrics, correct, error = run_shinka_eval(
        program_path=program_path,
        results_dir=results_dir,
        experiment_fn_name="run_packing",
        num_runs=1,
        get_experiment_kwargs=lambda run: {},
        validate_fn=validate_packing,
        aggregate_metrics_fn=aggregate,
    )
    if not correct:
        print(f"incorrect: {error}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--program_path", default="initial.py")
    parser.add_argument("--results_dir", default="results")
    args = parser.parse_args()
    main(args.program_path, args.results_dir)
