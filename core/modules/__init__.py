"""The nine state modules (SPEC section 4), one per file, each owning its state."""
