"""One module per ``prwatch`` subcommand: each registers its parser and handler."""
