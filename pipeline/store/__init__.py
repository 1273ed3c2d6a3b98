"""The storage layer: one module per aggregate, all SQL of the package behind plain functions."""
