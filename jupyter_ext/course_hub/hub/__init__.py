"""Helpers that the hub and gateway configuration files import.

They keep ``hub_config/*/*.py`` declarative: each setting there is one line
with a comment, and the logic (secrets, options built from the manifest)
lives here, where it is tested.
"""
