"""Qt-free domain logic: conversations, parameters, runs, metrics, catalog."""
