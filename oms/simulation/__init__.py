"""Simulation: storms with ground truth, replay, crews driving, scoring."""
