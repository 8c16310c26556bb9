"""The `supportbot` command line.

Subcommands live beside the code they drive and are imported only when used, so
`supportbot --help` stays fast and nothing heavy (torch, FAISS) loads at import time.
Each entry below maps a command name to "module:attribute" of a click command or group; the
benchmark and evaluation drivers behind `supportbot bench|eval` live in bench/ (eval retrieval and
eval intents stay beside the libraries they score).
"""

from __future__ import annotations

import importlib

import click

COMMANDS: dict[str, str] = {
    "up": "bot.runner:up",
    "train": "bot.runner:train",
    "status": "bot.runner:status",
    "apikey": "bot.apikeys_cli:apikey",
    "users": "bot.console.users_cli:users",
    "kb": "retrieval.cli:kb",
    "logs": "finetune.cli:logs",
    "retrain": "finetune.cli:retrain",
    "models": "finetune.cli:models",
    "export": "bot.console.export_cli:export",
    "nlu": "nlu.cli:nlu",
    "customers": "privacy.customers_cli:customers",
    "pii": "privacy.cli:pii",
}

EVAL_COMMANDS: dict[str, str] = {
    "retrieval": "retrieval.cli:eval_retrieval",
    "responses": "bench.responses:eval_responses",
    "intents": "nlu.cli:eval_intents",
    "pii": "privacy.cli:eval_pii",
    "answers": "bench.answers:eval_answers",
    "assist": "bench.assist_eval:eval_assist",
    "learnt-routing": "bench.learnt_routing_eval:eval_learnt_routing",
}

BENCH_COMMANDS: dict[str, str] = {
    "chat": "bench.chat:bench_chat",
    "soak": "bench.soak:bench_soak",
    "index": "bench.index:bench_index",
    "kb-profile": "bench.kb_profile:kb_profile",
    "assist": "bench.assist:bench_assist",
    "encoder": "bench.encoder:bench_encoder",
    "response-precision": "bench.response_precision:bench_response_precision",
}


class LazyGroup(click.Group):
    """A click group whose subcommands are imported on first use."""

    def __init__(self, *args, lazy: dict[str, str] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.lazy = dict(lazy or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(self.lazy))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self.lazy:
            module_name, attr = self.lazy[name].split(":")
            try:
                return getattr(importlib.import_module(module_name), attr)
            except (ImportError, AttributeError) as exc:  # a part of the platform is not installed
                return _unavailable(name, exc)
        return super().get_command(ctx, name)


def _unavailable(name: str, exc: Exception) -> click.Command:
    message = f"`supportbot {name}` is unavailable here ({exc}). Run `make setup` and try again."

    def fail() -> None:
        raise click.ClickException(message)

    return click.Command(name, callback=fail, help=f"(unavailable: {exc})")


@click.group(cls=LazyGroup, lazy=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="supportbot")
def cli() -> None:
    """supportbot: customer-service chatbot platform (Rasa 3.6 + FAISS + a fine-tuned dialogue model)."""


@cli.group(cls=LazyGroup, lazy=EVAL_COMMANDS, name="eval")
def eval_group() -> None:
    """Evaluation commands; each prints one JSON object on stdout."""


@cli.group(cls=LazyGroup, lazy=BENCH_COMMANDS, name="bench")
def bench_group() -> None:
    """Benchmarks; each prints one JSON object on stdout (progress on stderr)."""


def main() -> None:
    cli(prog_name="supportbot")


if __name__ == "__main__":
    main()
