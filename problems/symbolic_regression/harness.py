"""Runs inside the sandbox: fit the equation's parameters, then predict the held-out points.

The case holds the training data (inputs and targets) and the held-out inputs only; the
held-out targets never enter the sandbox. The fit is Levenberg-Marquardt least squares
on the training points with a finite-difference Jacobian (numpy only). Only predictions
leave the sandbox: the trusted scorer computes every error from its own targets.
"""

import numpy as np


def _fit(program, x, v, y, nparams, steps=60):
    def residual(p):
        return np.asarray(program.equation(x, v, p), dtype=float) - y

    p = np.ones(nparams)
    r = residual(p)
    cost = float(r @ r) if np.all(np.isfinite(r)) else np.inf
    damping = 1e-3
    for _ in range(steps):
        jac = np.empty((len(y), nparams))
        for k in range(nparams):
            step = 1e-6 * max(1.0, abs(p[k]))
            q = p.copy()
            q[k] += step
            jac[:, k] = (residual(q) - r) / step
        if not np.all(np.isfinite(jac)):
            break
        normal = jac.T @ jac
        grad = jac.T @ r
        improved = False
        for _ in range(10):
            try:
                delta = np.linalg.solve(normal + damping * np.diag(np.diag(normal) + 1e-12), -grad)
            except np.linalg.LinAlgError:
                damping *= 10
                continue
            trial = residual(p + delta)
            trial_cost = float(trial @ trial) if np.all(np.isfinite(trial)) else np.inf
            if trial_cost < cost:
                p, r, cost = p + delta, trial, trial_cost
                damping = max(damping / 3, 1e-12)
                improved = True
                break
            damping *= 10
        if not improved or cost < 1e-30:
            break
    return p


def run(program, case):
    train = case["train"]
    x, v, y = (np.asarray(train[k], dtype=float) for k in ("x", "v", "a"))
    params = _fit(program, x, v, y, int(program.MAX_NPARAMS))
    predictions = {}
    for split in ("test_id", "test_ood"):
        xs, vs = (np.asarray(case[split][k], dtype=float) for k in ("x", "v"))
        predictions[split] = np.asarray(program.equation(xs, vs, params), dtype=float).tolist()
    return {"params": params.tolist(), **predictions}
