"""The pipeline for one request, on the candidates read for its flavor shape
(candidates.py): filters (filters.py, each counting the hosts it dropped and
why) -> weighers (weighers.py) -> a random one of the host_subset_size best.
batch.py runs it for each instance of a batch, tracking usage as it assigns,
then claims the whole batch in one transaction (db/claims.py)."""
import random

from nova_lite.scheduler import filters, weighers


def choose(hosts, request, chosen_filters, weigher_names, subset, metrics):
    """The host for ``request`` among ``hosts``, or None (``metrics`` then
    holds why each host was dropped)."""
    passing = filters.apply(hosts, request, chosen_filters, metrics)
    if not passing:
        return None
    ranked = weighers.rank(passing, request, weigher_names)
    return random.choice(ranked[:subset])
