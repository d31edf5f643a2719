"""Virt drivers: ``fake`` (no hypervisor, for tests of the controller),
``libvirt`` (real guests) and ``sim`` (many simulated hosts), chosen by
``[compute] virt_driver``."""
