"""Built-in problem: symbolic regression of an oscillator's acceleration (LLM-SR style)."""
