"""Accounts, roles, API tokens and browser sessions for every write route."""
