"""Database: schema metadata, migrations, roles, tenant context, demo data and CLI."""
