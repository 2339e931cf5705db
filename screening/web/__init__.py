"""The web app for the whole team (`screening serve`), a thin layer over the library like the CLI."""
