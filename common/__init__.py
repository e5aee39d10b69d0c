"""Counterfeit detection: pure logic, message contracts and ports shared by the CLI and the cloud functions."""
