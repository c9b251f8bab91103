"""Built-in problem: online bin packing in FunSearch's setting (OR3, Weibull 5k)."""
