"""Command-line delivery layer (``proofdesk …``). Thin: parses arguments, calls services, prints."""
