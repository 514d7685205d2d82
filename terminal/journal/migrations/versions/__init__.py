"""Journal schema revisions, oldest first. Never edit one that has shipped: add the next."""
