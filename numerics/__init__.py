"""copyhead.numerics."""
