import pytest

from nova_lite.rpc import transport


def test_one_broker():
    assert transport.broker_urls("rabbit://u:p@h1:5672/") == ["amqp://u:p@h1:5672/"]


def test_a_cluster_becomes_one_url_per_broker_with_the_vhost():
    urls = transport.broker_urls("rabbit://u:p@h1:5672,u:p@h2:5673,u:p@h3:5674/nova")
    assert urls == ["amqp://u:p@h1:5672/nova", "amqp://u:p@h2:5673/nova",
                    "amqp://u:p@h3:5674/nova"]


@pytest.mark.parametrize("url", ["kafka://h1/", "rabbit:///"])
def test_bad_urls_are_refused(url):
    with pytest.raises(ValueError):
        transport.broker_urls(url)
