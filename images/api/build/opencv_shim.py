"""Register opencv-contrib-python 4.10.0.84 as installed, provided by the headless build.

PaddleX 3.7.2 requires opencv-contrib-python==4.10.0.84 and checks for it by distribution name
(importlib.metadata), but that wheel's cv2 links libGL and X11, which a slim image lacks (the
Debian packages bring mesa and LLVM: over 200 MB). The headless wheel of the same version has
the same cv2 module without GUI support. This writes a metadata-only distribution, with a RECORD
so that pip can uninstall it, that depends on the headless wheel. Run it with the venv's python
before installing PaddleX.
"""

import sys
import sysconfig
from pathlib import Path

NAME, VERSION = "opencv-contrib-python", "4.10.0.84"
site = Path(sysconfig.get_paths()["purelib"])
dist_info = site / f"{NAME.replace('-', '_')}-{VERSION}.dist-info"
dist_info.mkdir()
files = {
    "METADATA": (
        "Metadata-Version: 2.1\n"
        f"Name: {NAME}\n"
        f"Version: {VERSION}\n"
        "Summary: Stand-in: cv2 is provided by opencv-contrib-python-headless\n"
        f"Requires-Dist: opencv-contrib-python-headless=={VERSION}\n"
    ),
    "INSTALLER": "paddleocr-vl-deploy\n",
}
for name, text in files.items():
    (dist_info / name).write_text(text)
record = [f"{dist_info.name}/{name},," for name in files] + [f"{dist_info.name}/RECORD,,"]
(dist_info / "RECORD").write_text("\n".join(record) + "\n")
print(f"registered {NAME} {VERSION} (headless) in {dist_info}", file=sys.stderr)
