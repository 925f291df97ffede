"""copyhead.derivations."""
