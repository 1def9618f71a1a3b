"""Commands that predict outcomes of running cases: ``train``, ``predict`` and ``models``."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from kgsentinel.cli.app import State, command
from kgsentinel.cli.output import print_rows, spinner

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Add the prediction commands to ``app``."""

    @command(app, "train")
    def train(
        ctx: typer.Context,
        names: Annotated[
            list[str] | None, typer.Argument(help="Outcomes to train (default: all enabled).")
        ] = None,
    ) -> None:
        """Train outcome models on the finished cases and save a new version of each.

        Example: kgsentinel train; kgsentinel train late-launch
        """
        from kgsentinel.predict.runner import chosen_outcomes
        from kgsentinel.predict.runner import train as train_outcome

        workspace = ctx.find_root().obj.workspace()
        reports = []
        for name in chosen_outcomes(workspace, names or []):
            with spinner(f"training {name}"):
                reports.append(train_outcome(workspace, name))
        rows = [
            [r.outcome, r.version, f"{r.cases:,}", f"{r.positives:,}", _metrics(r.metrics),
             f"{(r.ended - r.started).total_seconds():.1f}s"]
            for r in reports
        ]  # fmt: skip
        print_rows(None, ["outcome", "version", "cases", "outcome happened", "test", "time"], rows)

    @command(app, "predict")
    def predict(
        ctx: typer.Context,
        names: Annotated[
            list[str] | None, typer.Argument(help="Outcomes to predict (default: all enabled).")
        ] = None,
    ) -> None:
        """Predict outcomes of the running cases into the predictions graph; risks become anomalies.

        Example: kgsentinel predict; kgsentinel predict late-launch
        """
        from kgsentinel.predict.runner import chosen_outcomes
        from kgsentinel.predict.runner import predict as predict_outcome

        workspace = ctx.find_root().obj.workspace()
        reports = []
        for name in chosen_outcomes(workspace, names or []):
            with spinner(f"predicting {name}"):
                reports.append(predict_outcome(workspace, name))
        rows = [
            [r.outcome, r.version, f"{r.cases:,}", f"{r.at_risk:,}", f"{r.new:,}",
             f"{r.resolved:,}", f"{(r.ended - r.started).total_seconds():.1f}s"]
            for r in reports
        ]  # fmt: skip
        print_rows(None, ["outcome", "model", "cases", "at risk", "new", "resolved", "time"], rows)
        at_risk = sum(r.at_risk for r in reports)
        typer.echo(f"{at_risk:,} running cases at risk; see `kgsentinel anomalies --kind risk`",
                   err=True)  # fmt: skip

    @command(app, "models")
    def models(
        ctx: typer.Context,
        every: Annotated[
            bool, typer.Option("--all", help="Every version, not only the latest.")
        ] = False,
    ) -> None:
        """List the trained models: versions, target, test metric, when trained, cases.

        Example: kgsentinel models; kgsentinel models --all
        """
        from kgsentinel.predict.registry import list_models

        state: State = ctx.find_root().obj
        rows = [
            [m["outcome"], m["version"] or "not trained", m["versions"], m["target"] or "",
             _metric(m["metric"], m["value"]), _when(m["trained_at"]),
             "" if m["cases"] is None else f"{m['cases']:,}"]
            for m in list_models(state.workspace(), every_version=every)
        ]  # fmt: skip
        print_rows(None, ["outcome", "version", "versions", "target", "test", "trained at",
                          "cases"], rows)  # fmt: skip


def _metrics(metrics: dict[str, dict[str, Any]]) -> str:
    shown = [_metric("auc" if target == "outcome" else "mae_hours",
                     values.get("auc" if target == "outcome" else "mae_hours"))
             for target, values in metrics.items()]  # fmt: skip
    return ", ".join(text for text in shown if text)


def _metric(name: str | None, value: Any) -> str:
    if name is None or not isinstance(value, int | float) or value != value:
        return ""
    return f"AUC {value:.2f}" if name == "auc" else f"MAE {value:.1f} h"


def _when(moment: Any) -> str:
    return moment.strftime("%Y-%m-%d %H:%M") if moment is not None else ""
