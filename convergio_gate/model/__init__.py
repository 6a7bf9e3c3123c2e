"""Plans, tasks and evidence: their schemas, YAML load/save, and the lifecycle."""
