from screening.cli import cli

cli()
