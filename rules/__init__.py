"""Rules as data: markers, patterns and tree-sitter queries, shipped inside the wheel."""
