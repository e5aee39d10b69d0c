"""Shared test support: local-backend function fixtures, the emulator stack fixture, a loopback HTTP server,
tiny brand kits and signed webhook requests. Import as ``tests.support.<module>`` (repo root on sys.path)."""
