"""Write this workspace's source data (data/) and the planted anomalies' labels.

    python generate.py && kgsentinel ingest && kgsentinel detect && kgsentinel train
    kgsentinel predict && kgsentinel anomalies

The same data as `kgsentinel demo`, which also builds the workspace and reports what it finds.
"""

from pathlib import Path

from kgsentinel.demo.runner import LABELS_FILE
from kgsentinel.demo.sources import generate_sources, write_sources

if __name__ == "__main__":
    here = Path(__file__).resolve().parent
    data = generate_sources(launches=300, seed=7)
    written = write_sources(data, here / "data")
    data.labels.to_csv(here / LABELS_FILE, index=False)
    print(f"Wrote {len(written)} source files to {here / 'data'} and {LABELS_FILE}")
