"""Built-in problem: the first autocorrelation inequality (an upper bound on C1, AlphaEvolve)."""
