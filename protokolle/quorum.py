"""Quorum (Beschlussfähigkeit) and conflicts of interest, computed from the attendance."""
