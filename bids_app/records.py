"""What one session's run gave, wrote and measured: the record the subject report and the group level
read (``logs/sessions/sub-<l>[_ses-<s>].json``), so neither recomputes anything."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bids_app.derivatives import NamedSession, write_json


@dataclass(frozen=True)
class SessionRecord(NamedSession):
    subject: str
    session: str | None
    reference: str  # the modality whose grid every output shares
    given: list[str]  # modalities the model saw
    held_out: list[str]  # acquired but hidden from the model, for comparison
    synthesized: list[str]
    sources: dict[str, str]  # modality -> raw image
    files: dict[str, Any]  # "preproc"/"synth"/"confidence"/"transform" -> modality -> path; "mask" -> path
    output_dir: str
    model: dict[str, Any]  # name, sha256, path
    mean_confidence: dict[str, float]  # synthesized modality -> mean confidence inside the brain
    held_out_metrics: dict[str, dict[str, float]]  # held-out modality -> psnr, ssim, mae
    warnings: list[str]

    def write(self, path: Path) -> None:
        write_json(path, dataclasses.asdict(self))

    @classmethod
    def read(cls, path: Path) -> SessionRecord:
        return cls(**json.loads(Path(path).read_text()))


def records_dir(output_dir: Path) -> Path:
    return output_dir / "logs" / "sessions"


def subject_records(output_dir: Path, subject: str, new: list[SessionRecord]) -> list[SessionRecord]:
    """This run's sessions plus those written by earlier runs (``--session-label`` runs one at a time)."""
    by_session = {}
    for path in records_dir(output_dir).glob(f"sub-{subject}*.json"):
        record = SessionRecord.read(path)
        if record.subject == subject:
            by_session[record.session] = record
    by_session.update({r.session: r for r in new})
    return list(by_session.values())
