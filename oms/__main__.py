"""``python -m oms`` is the ``oms`` command line."""

from oms.cli import main

main()
