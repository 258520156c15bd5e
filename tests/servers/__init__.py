"""Real servers started on free loopback ports for the test session."""
