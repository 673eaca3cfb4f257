"""``python -m cabhunt`` runs the CLI."""

from cabhunt.cli import main

main()
