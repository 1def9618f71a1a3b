"""Commands for ops teams: ``kgsentinel alerts`` (list, ack, resolve, silence, test, process)."""

from __future__ import annotations

import datetime as dt
import getpass
from typing import TYPE_CHECKING, Annotated, Any

import typer

from kgsentinel.cli.output import print_rows, write_bytes

if TYPE_CHECKING:  # pragma: no cover
    from kgsentinel.cli.app import State

__all__ = ["register"]

FORMATS = ("table", "csv", "json")
STATES = ("firing", "acknowledged", "resolved", "silenced")
By = Annotated[
    str | None, typer.Option("--by", help="Who makes the change (default: your user name).")
]
Comment = Annotated[str | None, typer.Option("--comment", "-m", help="Why, in a few words.")]


def register(app: typer.Typer) -> None:
    """Add the ``alerts`` command group to ``app``."""
    from kgsentinel.cli.app import command, user_errors  # app imports this module

    alerts = typer.Typer(help="Alerts raised from anomalies: list, ack, resolve, silence.")
    app.add_typer(alerts, name="alerts")

    @alerts.callback(invoke_without_command=True)
    @user_errors
    def alerts_list(
        ctx: typer.Context,
        state: Annotated[
            str | None, typer.Option(help="Only alerts in this state: " + ", ".join(STATES))
        ] = None,
        format: Annotated[
            str, typer.Option("--format", "-f", help="table, csv or json.")
        ] = "table",
    ) -> None:
        """List alerts, newest first; `alerts ack ID`, `resolve ID`, `silence` change them.

        Example: kgsentinel alerts --state firing --format json
        """
        if ctx.invoked_subcommand is not None:
            return
        from kgsentinel.alerts import list_alerts

        if format not in FORMATS:
            raise typer.BadParameter(f"use one of {', '.join(FORMATS)}", param_hint="--format")
        frame = list_alerts(_state(ctx).workspace().store, state)
        if format == "csv":
            write_bytes(frame.to_csv(index=False).encode("utf-8"))
        elif format == "json":
            text = frame.to_json(orient="records", date_format="iso", force_ascii=False)
            write_bytes((text + "\n").encode("utf-8"))
        else:
            columns = ["id", "state", "severity", "detector", "kind", "case_id", "summary"]
            rows = [[_text(row[c]) for c in columns] for _, row in frame.iterrows()]
            print_rows(None, columns, rows)
            typer.echo(f"{len(frame):,} alerts{_outbox_note(_state(ctx).workspace())}", err=True)

    @command(alerts, "ack")
    def alerts_ack(
        ctx: typer.Context,
        alert_id: Annotated[str, typer.Argument(metavar="ID", help="The alert's id.")],
        by: By = None,
        comment: Comment = None,
    ) -> None:
        """Acknowledge an alert: someone has it; it is not sent again until it resolves.

        Example: kgsentinel alerts ack 4f2a9c0e11d2 -m "looking at it"
        """
        from kgsentinel.alerts import acknowledge

        record = acknowledge(_state(ctx).workspace(), alert_id, by=_by(by), comment=comment)
        typer.echo(f"Alert {record.id} acknowledged: {record.summary}")

    @command(alerts, "resolve")
    def alerts_resolve(
        ctx: typer.Context,
        alert_id: Annotated[str, typer.Argument(metavar="ID", help="The alert's id.")],
        by: By = None,
        comment: Comment = None,
    ) -> None:
        """Resolve an alert by hand; its group sends a resolved notification.

        Example: kgsentinel alerts resolve 4f2a9c0e11d2 -m "fixed in PLM"
        """
        from kgsentinel.alerts import resolve

        record = resolve(_state(ctx).workspace(), alert_id, by=_by(by), comment=comment)
        typer.echo(f"Alert {record.id} resolved: {record.summary}")

    @command(alerts, "silence")
    def alerts_silence(
        ctx: typer.Context,
        match: Annotated[
            list[str],
            typer.Option("--match", help="A matcher on alert labels (repeat: all must hold)."),
        ],
        duration: Annotated[
            str | None, typer.Option("--for", help="How long: 30m, 2h, 1d.")
        ] = None,
        until: Annotated[
            dt.datetime | None, typer.Option(help="Or until this time (UTC unless given).")
        ] = None,
        by: By = None,
        comment: Comment = None,
    ) -> None:
        """Silence the alerts matching every --match for a while (until or --for).

        Example: kgsentinel alerts silence --match 'kind=stuck' --match 'team=npi' --for 2h
        """
        from kgsentinel.alerts import silence

        record = silence(_state(ctx).workspace(), match, until=until, duration=duration,
                         by=_by(by), comment=comment or "")  # fmt: skip
        matchers = " ".join(record.matchers)
        typer.echo(f"Silence {record.id} until {record.ends_at.isoformat()}: {matchers} "
                   f"({record.muted:,} alerts silenced now)")  # fmt: skip

    @command(alerts, "silences")
    def alerts_silences(
        ctx: typer.Context,
        all_: Annotated[bool, typer.Option("--all", help="Also those that ended.")] = False,
    ) -> None:
        """List the silences in force (or all of them), the soonest to end first.

        Example: kgsentinel alerts silences --all
        """
        from kgsentinel.alerts import list_silences

        now = None if all_ else dt.datetime.now(dt.UTC)
        found = list_silences(_state(ctx).workspace().store, active_at=now)
        rows = [[s.id, " ".join(s.matchers), s.starts_at.isoformat(), s.ends_at.isoformat(),
                 s.by, s.comment] for s in found]  # fmt: skip
        print_rows(None, ["id", "matchers", "starts", "ends", "by", "comment"], rows)

    @command(alerts, "unsilence")
    def alerts_unsilence(
        ctx: typer.Context,
        silence_id: Annotated[str, typer.Argument(metavar="ID", help="The silence's id.")],
    ) -> None:
        """End a silence now; its alerts fire again at the next `alerts process`.

        Example: kgsentinel alerts unsilence 0c1d2e3f4a5b
        """
        from kgsentinel.alerts import expire_silence

        record = expire_silence(_state(ctx).workspace(), silence_id)
        typer.echo(f"Silence {record.id} ended at {record.ends_at.isoformat()}")

    @command(alerts, "history")
    def alerts_history(
        ctx: typer.Context,
        alert_id: Annotated[str, typer.Argument(metavar="ID", help="The alert's id.")],
    ) -> None:
        """Show an alert's changes of state: when, from, to, by whom, why.

        Example: kgsentinel alerts history 4f2a9c0e11d2
        """
        from kgsentinel.alerts import alert_history

        frame = alert_history(_state(ctx).workspace().store, alert_id)
        columns = ["at", "from", "to", "by", "comment"]
        print_rows(None, columns, [[_text(row[c]) for c in columns] for _, row in frame.iterrows()])

    @command(alerts, "test")
    def alerts_test(
        ctx: typer.Context,
        sink: Annotated[str, typer.Argument(help="A sink of [sinks.NAME].")],
    ) -> None:
        """Send a test notification through a sink, now.

        Example: kgsentinel alerts test slack
        """
        from kgsentinel.alerts.delivery import send_test

        send_test(_state(ctx).workspace(), sink)
        typer.echo(f"Test notification sent through {sink}")

    @command(alerts, "process")
    def alerts_process(ctx: typer.Context) -> None:
        """Run the alert engine once: sync alerts, send what is due.

        Example: kgsentinel alerts process
        """
        from kgsentinel.alerts import process

        echo_report(process(_state(ctx).workspace()))


def echo_report(report: Any, *, prefix: str = "", err: bool = False) -> None:
    """Print the summary of an alerts run, then each of its errors as a warning on stderr."""
    typer.echo(prefix + summary(report), err=err)
    for error in report.errors:
        typer.secho(f"Warning: {error}", err=True, fg=typer.colors.YELLOW)


def summary(report: Any) -> str:
    """One line about an :class:`~kgsentinel.alerts.AlertsReport`."""
    words = [f"{report.raised:,} alerts raised", f"{report.resolved:,} resolved"]
    if report.silenced or report.unsilenced:
        words.append(f"{report.silenced:,} silenced, {report.unsilenced:,} unsilenced")
    words.append(f"{report.enqueued:,} notifications queued")
    delivery = report.delivery
    if delivery is not None:
        words.append(f"{delivery.delivered:,} delivered")
        if delivery.retrying or delivery.dead_lettered:
            words.append(f"{delivery.retrying:,} to retry, {delivery.dead_lettered:,} dead")
    text = ", ".join(words)
    if report.next_due is not None:
        text += (
            f"; new alerts wait for group_wait: run `kgsentinel alerts process` after "
            f"{report.next_due:%H:%M:%S} UTC (`kgsentinel run` does it by itself)"
        )
    return text


def _outbox_note(workspace: Any) -> str:
    """``; 2 notifications waiting, 1 dead letter`` when the outbox holds any."""
    from kgsentinel.alerts.outbox import OUTBOX_FILE, Outbox

    if not (workspace.state_dir / OUTBOX_FILE).exists():
        return ""
    outbox = Outbox(workspace.state_dir)
    waiting, dead = len(outbox.pending()), len(outbox.dead_letters())
    words = [f"{waiting:,} notifications waiting" if waiting else "",
             f"{dead:,} dead letters (see docs/alerts.md)" if dead else ""]  # fmt: skip
    shown = ", ".join(word for word in words if word)
    return f"; {shown}" if shown else ""


def _state(ctx: typer.Context) -> State:
    return ctx.find_root().obj


def _by(by: str | None) -> str:
    if by:
        return by
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _text(value: Any) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return ""
    return str(value)
