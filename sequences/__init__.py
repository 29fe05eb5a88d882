"""redmule_verif.sequences: job items, the sequence library and regression suites."""
