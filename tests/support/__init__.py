"""Helpers the tests share (no tests here): import them as `support.<module>`."""
