"""The libvirt virt driver: real QEMU/KVM guests on a compute host.

It owns, on this host only: the libvirt domains it created (named
``nova-lite-<uuid>``, domain uuid = instance uuid, and marked with a
nova-lite ``<metadata>`` element so other domains are never touched), and
each instance's directory ``<[libvirt] instances_path>/<uuid>/`` holding
``disk`` (qcow2 root disk), ``disk.config`` (config drive ISO) and
``console.log`` (serial console). Base images are files the caller provides
(ImageService caches them in ``<instances_path>/_base``).

Spawn flow: check the image file really is the declared format -> root disk
(qcow2 overlay on the base, or a converted copy) resized to the flavor ->
config drive -> domain XML (type from ``virt_type.detect``) -> define ->
start. Any failure removes the domain and the directory again. Destroy is
the same cleanup, and is idempotent.

Modules, one job each:
  - ``driver``      LibvirtDriver: the ComputeDriver interface, orchestration
  - ``connection``  opening (and reopening) the libvirt connection
  - ``guest``       finding this driver's domains, and libvirt error helpers
  - ``virt_type``   choosing the domain type (kvm only when KVM really works)
  - ``domain_xml``  the domain XML
  - ``disks``       instance directories and the root disk
  - ``commands``    running qemu-img and friends with clear errors
  - ``power``       libvirt domain state -> nova_lite power state
  - ``console``     the serial console log
  - ``snapshot``    a standalone qcow2 copy of the root disk
  - ``host``        the host's resources for the scheduler
"""
