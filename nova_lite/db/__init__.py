"""State: PostgreSQL through SQLAlchemy 2.x, the only source of truth.

- ``models``   the tables (schema changes go through Alembic in ``migrations/``)
- ``session``  one engine per process, ``transaction()`` for a unit of work
- ``migrate``  ``nova-lite-manage db sync``
- ``passwords`` the scrypt hashes in ``users.password_hash``
- ``flavors``  who may see and boot a flavor (private flavors, flavor access)

Every state change is a single conditional UPDATE (compare-and-set), so two
workers that race on one instance cannot both win.
"""
