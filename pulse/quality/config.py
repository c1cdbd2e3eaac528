"""The gates' knobs (`GateSettings`): thresholds, the privacy threshold and the project folder.

Their defaults and environment variables are `pulse.settings.Settings`'; this module only checks
that they make sense together.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pulse.settings import Settings


@dataclass(frozen=True)
class GateSettings:
    """The gates' knobs; their defaults and environment variables are `Settings`'.

    Attributes:
        project_dir: Folder holding the Great Expectations project (`gx/` inside).
        volume_history_intervals: Previous intervals of the same length the volume is compared
            with.
        volume_band_low: Lowest allowed interval count / trailing average (a drop below fails).
        volume_band_high: Highest allowed interval count / trailing average (a surge fails).
        dead_letter_max_share: Highest allowed share of dead letters among what arrived.
        future_tolerance_s: How far after the moment of validation occurred_at may be.
        min_group_size: Community-periods below this many members show no member figures.
        keep_builds: Promoted build schemas kept (the live one and the ones before it).
        data_docs_dir: Shared folder the Data Docs are copied to (None: left in the project).
    """

    project_dir: Path
    volume_history_intervals: int
    volume_band_low: float
    volume_band_high: float
    dead_letter_max_share: float
    future_tolerance_s: int
    min_group_size: int
    keep_builds: int
    data_docs_dir: Path | None = None

    def __post_init__(self) -> None:
        if self.volume_history_intervals < 1:
            raise ValueError("volume_history_intervals must be at least 1")
        if not 0 <= self.volume_band_low < self.volume_band_high:
            raise ValueError("the volume band needs 0 <= low < high")
        if not 0 <= self.dead_letter_max_share <= 1:
            raise ValueError("dead_letter_max_share must be within [0, 1]")
        if self.keep_builds < 1:
            raise ValueError("keep_builds must be at least 1 (the live build)")

    @classmethod
    def from_settings(cls, settings: Settings) -> GateSettings:
        """The gate knobs the settings (PULSE_GATE_*, ...) say."""
        return cls(
            project_dir=Path(settings.gx_project_dir),
            volume_history_intervals=settings.gate_volume_history_intervals,
            volume_band_low=settings.gate_volume_band_low,
            volume_band_high=settings.gate_volume_band_high,
            dead_letter_max_share=settings.gate_dead_letter_max_share,
            future_tolerance_s=settings.future_tolerance_s,
            min_group_size=settings.min_group_size,
            keep_builds=settings.keep_builds,
            data_docs_dir=settings.data_docs_dir,
        )
