"""``python -m kgtools`` runs the ``kg`` command."""

from kgtools.cli import main

if __name__ == "__main__":
    main()
