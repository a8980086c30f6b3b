"""The HTTP edge shared by every block: app factory, problem+json errors, request ids, auth."""
