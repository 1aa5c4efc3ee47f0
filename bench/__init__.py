"""Benchmarks. Each module has `main()` and writes bench/results/<name>.json. Not unit tests."""
