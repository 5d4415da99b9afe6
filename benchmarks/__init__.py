"""Benchmarks and the plain-PyTorch reference pruning that calibprune is measured against."""
