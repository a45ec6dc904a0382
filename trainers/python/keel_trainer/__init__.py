"""Keel's reference external trainer: a Temporal worker implementing the training contract (docs/training-contract.md)."""

__version__ = "0.1.0"
