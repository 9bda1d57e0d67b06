"""One module per `mlinfra` subcommand."""
