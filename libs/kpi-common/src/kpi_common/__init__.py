"""Shared plumbing for the kpi-cascade services. Holds no business rules."""
