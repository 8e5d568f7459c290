"""Where Debian's chromium is (CHROMIUM_PATH overrides)."""

import os
import shutil

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
