"""Compatibility APIs: the protocols existing client apps speak, translated onto Chorus' services and selectors."""
