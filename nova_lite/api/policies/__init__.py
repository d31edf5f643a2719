"""nova-lite's policy rules and their defaults, in code (as Nova's
nova/policies): ``base`` the personas, then one module per API with the
rules named as the upstream project names them. ``list_rules()`` is the
``oslo.policy.policies`` entry point (the sample generator's and
oslopolicy-checker's)."""
import itertools

from nova_lite.api.policies import base, compute, identity, image, network


def list_rules():
    return list(itertools.chain(base.list_rules(), compute.list_rules(),
                                image.list_rules(), network.list_rules(),
                                identity.list_rules()))
