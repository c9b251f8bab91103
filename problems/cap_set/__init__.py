"""Built-in problem: large cap sets in F_3^n (FunSearch), n = 8 by default."""
