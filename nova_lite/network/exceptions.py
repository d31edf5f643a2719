"""Networking errors. Each is a nova_lite.exception error (so the compute API
turns it into its own fault body) and names the Neutron error type that the
Networking v2 API puts in ``{"NeutronError": {"type": ...}}``."""
from nova_lite import exception


class NetworkNotFound(exception.NotFound):
    neutron_type = "NetworkNotFound"
    message = "Network %(network)s could not be found."


class SubnetNotFound(exception.NotFound):
    neutron_type = "SubnetNotFound"
    message = "Subnet %(subnet)s could not be found."


class PortNotFound(exception.NotFound):
    neutron_type = "PortNotFound"
    message = "Port %(port)s could not be found."


class IpAddressExhausted(exception.Conflict):
    neutron_type = "IpAddressGenerationFailure"
    message = "No more IP addresses available on network %(network)s."


class IpAddressInUse(exception.Conflict):
    neutron_type = "IpAddressAlreadyAllocated"
    message = "IP address %(address)s already allocated in subnet %(subnet)s"


class InvalidIpForSubnet(exception.Invalid):
    neutron_type = "InvalidIpForSubnet"
    message = "IP address %(address)s is not a valid IP for the specified subnet."


class AddressNotAllocated(exception.Conflict):
    neutron_type = "IpAddressNotAllocated"
    message = "IP address %(address)s of subnet %(subnet)s is not allocated."


class InvalidCidr(exception.Invalid):
    neutron_type = "InvalidInput"
    message = "Invalid input for cidr. Reason: %(reason)s"


class SubnetOverlap(exception.Invalid):
    neutron_type = "InvalidInput"
    message = ("Invalid input for operation: Requested subnet with cidr %(cidr)s "
               "overlaps with another subnet.")


class NetworkInUse(exception.Conflict):
    neutron_type = "NetworkInUse"
    message = ("Unable to complete operation on network %(network)s. There are one "
               "or more ports still in use on the network.")


class MacAddressInUse(exception.Conflict):
    neutron_type = "MacAddressInUse"
    message = "Unable to complete operation for network %(network)s. The mac address " \
              "%(mac)s is in use."
