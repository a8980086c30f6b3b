"""Infrastructure shared by every block: settings, database, migrations, HTTP, audit, logging."""
