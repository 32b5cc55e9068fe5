"""From the evidence to what it says: summaries, certainty, pooled effects, what changed since a release."""
