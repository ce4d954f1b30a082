"""`baton model check`: is the configured model usable by agents?"""

from __future__ import annotations

import typer

from baton.cli.app import console, err_console, print_json, shown
from baton.settings import get_settings

model_app = typer.Typer(help="The model that reasons for agents.", no_args_is_help=True)


@model_app.command("check")
def check(as_json: bool = typer.Option(False, "--json", help="Machine-readable result.")) -> None:
    """Send one tiny request with a tool bound; exit 1 and say what is wrong if it fails."""
    from baton.agents.check import check_model  # langchain only when asked

    settings = get_settings()
    problems = check_model(settings)
    offline = settings.model_provider == "offline"
    if as_json:
        print_json(
            {
                "provider": settings.model_provider,
                "model": None if offline else settings.model_name,
                "base_url": None if offline else settings.model_base_url,
                "ok": not problems,
                "problems": problems,
            }
        )
    elif offline:
        console.print(
            "model: offline (deterministic reasoners, no network; set BATON_MODEL_PROVIDER="
            "openai to use a model)",
            highlight=False,
        )
    else:
        for problem in problems:
            err_console.print(f"[red]error[/red]: {shown(problem)}", highlight=False)
        if not problems:
            console.print(
                f"[green]ok[/green] model {settings.model_name} at {settings.model_base_url}"
                " answers and calls tools",
                highlight=False,
            )
    if problems:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.add_typer(model_app, name="model")
