"""The journey log: every milestone of every journey, once, and the reports read from it."""
