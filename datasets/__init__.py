"""The semantic layer: dataset registry, report definitions, compiler, runner, formatting.

Definitions reference datasets, measures, dimensions and filters only by registry id;
SQL is built by SQLAlchemy from registry entries, never from strings a user sent.
"""
