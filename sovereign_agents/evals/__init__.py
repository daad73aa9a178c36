"""Evals: prompt sensitivity, verification accuracy, retrieval quality (each a CLI + plot)."""
