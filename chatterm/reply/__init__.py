"""Events to a reply: the fold (accumulator and metrics), the reply in flight, its figures."""
