"""The ``novel-events`` command. Prefect-heavy imports happen inside commands, so ``--help`` and
input validation stay fast."""

from __future__ import annotations

import sys

import typer

from cli import demo, metrics, ops, users, webcmd
from cli.dump import register as register_dump
from novel_events.errors import InvalidInput, NotFound, NovelEventsError

app = typer.Typer(
    name="novel-events",
    help="Email each user the upcoming calendar events that break their routine, on their schedule.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(users.app, name="users", help="Add, change, remove and list users.")
ops.register(app)
demo.register(app)
register_dump(app)
webcmd.register(app)
metrics.register(app)


def _fail(message: str, code: int = 2) -> int:
    print(f"novel-events: error: {' '.join(message.split())}", file=sys.stderr)
    return code


def main(argv: list[str] | None = None) -> int:
    """Entry point: one-line errors with exit status 2 for bad input, 1 for failures."""
    from pydantic import ValidationError
    from typer.exceptions import TyperException  # public base of the usage errors of the click typer vendors

    try:
        rv = app(args=argv, standalone_mode=False, prog_name="novel-events")
        if isinstance(rv, int) and not isinstance(rv, bool):  # typer.Exit(code) is returned, not raised
            return rv
    except TyperException as exc:
        if type(exc).__name__ == "NoArgsIsHelpError":  # help was printed; typer itself tests it by name
            return 0
        return _fail(exc.format_message())
    except typer.Abort:
        return _fail("aborted", 130)
    except typer.Exit as exc:
        return int(exc.exit_code or 0)
    except (InvalidInput, NotFound) as exc:
        return _fail(str(exc))
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err.get("loc", ())) or "settings"
        return _fail(f"{loc}: {err.get('msg', 'invalid value')}")
    except NovelEventsError as exc:
        return _fail(str(exc), 1)
    except KeyboardInterrupt:
        return _fail("interrupted", 130)
    return 0


def run() -> None:  # console script
    sys.exit(main())


if __name__ == "__main__":
    run()
