"""The installed onesheet version, recorded in everything written to disk."""

from importlib import metadata

try:
    PACKAGE_VERSION = metadata.version("onesheet")
except metadata.PackageNotFoundError:  # running from a source tree that is not installed
    PACKAGE_VERSION = "0+unknown"
