"""C2PA trust lists shipped as package data (see SOURCE.json and scripts/update-trust-lists)."""
