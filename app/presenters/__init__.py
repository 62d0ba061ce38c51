"""QtCore presenters: one QObject per tab owning its state and commands."""
