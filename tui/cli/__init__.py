"""Command line: the `evodash` entry point, the headless commands and `evodash sim`."""
