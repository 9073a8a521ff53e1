"""Write the bad-input corpus (broken catalogs, odd poster folders) that the tests use.

Usage: python scripts/make_bad_corpus.py DIR
Then try e.g. `onesheet ingest DIR/unterminated_quote.csv --store /tmp/s.h5` or
`onesheet predict --models out/models --posters DIR/odd-posters`.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.bad_corpus import make_corpus  # noqa: E402

if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__.strip())
    for name, path in sorted(make_corpus(sys.argv[1]).items()):
        print(f"{name:<32} {path}")
