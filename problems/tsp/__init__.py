"""Built-in problem: a constructive TSP heuristic on fixed TSP50 / TSP100 sets (EoH, ReEvo)."""
