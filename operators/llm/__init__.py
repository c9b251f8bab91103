"""LLM operators: model clients, prompts, diff parsing, reflection, ensembles."""
