"""Concrete ports of the exchange: the SQL store and the httpx provider client."""
