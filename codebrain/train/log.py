"""A training run's log: ``log.csv`` (one row per log step, fixed columns) and TensorBoard events."""

from __future__ import annotations

import csv
from pathlib import Path

FIELDS = ["step", "elapsed_s", "lr", "loss", "psnr_missing", "loss_d", "loss_g", "code_accuracy", "code_perplexity",
          "codes_used_pct", "val_psnr_missing", "val_code_accuracy"]


class TrainingLog:
    """Appends to the run folder's log; a resumed run drops TensorBoard events past its checkpoint."""

    def __init__(self, output: Path, step: int) -> None:
        from torch.utils.tensorboard import SummaryWriter

        self.path = output / "log.csv"
        self.writer = SummaryWriter(str(output / "tb"), purge_step=step or None)

    def write(self, row: dict[str, float]) -> None:
        new = not self.path.exists()
        with open(self.path, "a", newline="") as f:
            w = csv.DictWriter(f, fieldnames=FIELDS, extrasaction="ignore")
            if new:
                w.writeheader()
            w.writerow(row)
        for key, value in row.items():
            if key != "step":
                self.writer.add_scalar(key, value, row["step"])

    def close(self) -> None:
        self.writer.close()
