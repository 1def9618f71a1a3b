"""``python -m kgsentinel`` runs the command line."""

from kgsentinel.cli.app import main

main()
