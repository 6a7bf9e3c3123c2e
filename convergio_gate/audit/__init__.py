"""The audit chain: every decision the tool makes, hash-chained in git notes."""
