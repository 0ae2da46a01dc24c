"""`python -m bayes_btc` runs the command-line interface."""

from bayes_btc.cli import main

main()
