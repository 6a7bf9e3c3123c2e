"""One module per verb; each exports ``run(args) -> int`` (an exit code)."""
