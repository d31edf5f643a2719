"""Shared vocabulary every service may import: instance states and how the
API derives a server's status from them."""
