"""What every webhook route shares: the request view, Basic authentication, the error border."""
