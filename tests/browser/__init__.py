"""Browser tests: Playwright drives Debian's chromium against a real `baton serve`."""
