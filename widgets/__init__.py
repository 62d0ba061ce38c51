"""Qt widgets of Fireplay: passive views that render presenter state."""
