"""The tables, one module per area. Change them only together with a
migration in migrations/versions/.

  base       Base, Timestamps, utcnow, new_uuid
  identity   Project, User, Role, RoleAssignment, ApplicationCredential,
             RevocationEvent
  compute    Flavor, FlavorProject, KeyPair, Image, ImageChunk, Service,
             ComputeNode, Allocation,
             Instance, InstanceFault, InstanceAction, InstanceActionEvent,
             Migration
  network    Network, Subnet, IpAllocation, Port, FloatingIP,
             SecurityGroup, SecurityGroupRule, PortSecurityGroup,
             SecurityGroupHost, SecurityGroupMemberChange,
             SecurityGroupMemberSync, SecurityGroupFanout
  messaging  OutboxMessage
  quota      Quota, QuotaClass, QuotaUsage
  scheduling InstanceGroup, RequestSpec
"""
from nova_lite.db.models.base import Base, Timestamps, new_uuid, utcnow
from nova_lite.db.models.compute import (
                                         Allocation,
                                         ComputeNode,
                                         Flavor,
                                         FlavorProject,
                                         Image,
                                         ImageChunk,
                                         Instance,
                                         InstanceAction,
                                         InstanceActionEvent,
                                         InstanceFault,
                                         KeyPair,
                                         Migration,
                                         Service,
)
from nova_lite.db.models.identity import (
                                         ApplicationCredential,
                                         Project,
                                         RevocationEvent,
                                         Role,
                                         RoleAssignment,
                                         User,
)
from nova_lite.db.models.messaging import OutboxMessage
from nova_lite.db.models.network import (
                                         FloatingIP,
                                         IpAllocation,
                                         Network,
                                         Port,
                                         PortSecurityGroup,
                                         SecurityGroup,
                                         SecurityGroupFanout,
                                         SecurityGroupHost,
                                         SecurityGroupMemberChange,
                                         SecurityGroupMemberSync,
                                         SecurityGroupRule,
                                         Subnet,
)
from nova_lite.db.models.quota import Quota, QuotaClass, QuotaUsage
from nova_lite.db.models.scheduling import InstanceGroup, RequestSpec

__all__ = [
                                         "Allocation",
                                         "ApplicationCredential",
                                         "Base",
                                         "ComputeNode",
                                         "Flavor",
                                         "FlavorProject",
                                         "FloatingIP",
                                         "Image",
                                         "ImageChunk",
                                         "Instance",
                                         "InstanceGroup",
                                         "InstanceAction",
                                         "InstanceActionEvent",
                                         "InstanceFault",
                                         "IpAllocation",
                                         "KeyPair",
                                         "Migration",
                                         "Network",
                                         "OutboxMessage",
                                         "Port",
                                         "PortSecurityGroup",
                                         "Project",
                                         "Quota",
                                         "QuotaClass",
                                         "QuotaUsage",
                                         "RequestSpec",
                                         "RevocationEvent",
                                         "Role",
                                         "RoleAssignment",
                                         "SecurityGroup",
                                         "SecurityGroupFanout",
                                         "SecurityGroupHost",
                                         "SecurityGroupMemberChange",
                                         "SecurityGroupMemberSync",
                                         "SecurityGroupRule",
                                         "Service",
                                         "Subnet",
                                         "Timestamps",
                                         "User",
                                         "new_uuid",
                                         "utcnow",
]
