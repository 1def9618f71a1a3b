"""The scheduler: `kgsentinel run` runs the configured jobs on their schedules."""

__all__: list[str] = []
