"""Pure domain logic: value types, change detection and ordering rules. No I/O here."""
