"""Networking (IPAM, bridges, DHCP, floating IPs, security groups).

Not built yet: servers currently boot without addresses (``addresses`` is
empty). The design is in ../../doc/architecture.md; the work is tracked as its
own issue."""
