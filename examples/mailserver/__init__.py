"""A reference mail server built on mailproto's public API only.

Store side: :mod:`.config`, :mod:`.directory`, :mod:`.maildir`, :mod:`.mda`,
:mod:`.queue`, :mod:`.relay`.  Front side: the protocol services, the CLI
and TLS (see ``docs/server``).
"""
