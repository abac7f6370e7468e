"""User commands, one module per area. Each module exposes `register(root: typer.Typer) -> None`;
`podium_cli.main.COMMAND_MODULES` lists the modules that are added to the `podium` command."""
