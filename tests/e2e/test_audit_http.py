"""Issue 15 (seed conformance audit): placeholder, filled by the item's owner."""

import unittest

from harness import CairnTestCase  # noqa: F401
