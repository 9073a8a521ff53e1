"""The model directory on disk: the one package that writes and reads fitted models.

``VersionWriter`` writes a complete new version and switches to it atomically;
``ModelDir.open`` reads the current one, checking every file against its manifest. Models
are skops files limited to trusted types (no pickle); format v1 (joblib) is refused.
"""

from .layout import FORMAT_VERSION
from .reader import ModelDir, Split
from .writer import VersionWriter

__all__ = ["FORMAT_VERSION", "ModelDir", "Split", "VersionWriter"]
