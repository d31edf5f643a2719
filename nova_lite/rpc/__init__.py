"""The message bus: kombu over RabbitMQ, fixed durable queues, nothing temporary.

    caller ──cast(topic, method, args)──> Publisher ──confirm──> exchange "nova_lite"
                                                                      │ routing key = topic
                      ┌───────────────────────────────────────────────┤
                      v                                               v
               queue "conductor"                              queue "compute.<host>"
               (quorum, delivery limit,                       (type from [rpc] compute_queue_type)
                dead letters -> "conductor.dlq")                      │
                      │                                               │
                 RPCServer: decode envelope -> handler thread -> ack after commit

- ``envelope``  the versioned JSON message and its validation
- ``topology``  exchange, queues and dead-letter queues, all with fixed names
- ``transport`` broker URL parsing (several brokers = one cluster) and connections
- ``publisher`` publishes with confirms and ``mandatory``, fails over, retries
- ``server``    consumes one topic with a thread pool; acks only after the
                handler returned; poison messages go to ``<queue>.dlq``
- ``retry``     which failures are transient (retried in place, with backoff)
- ``outbox``    rows written with the caller's transaction, relayed after commit
- ``casts``     every method of the contract, by service, in one place

Services import only this package to talk to each other.
"""
