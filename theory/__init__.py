"""copyhead.theory."""
