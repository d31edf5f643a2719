"""Placement of instances on compute nodes; see README.md in this directory."""
