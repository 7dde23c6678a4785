"""Repository tooling (notebook hygiene, book preparation, the paper-to-code page): run from a checkout,
never installed with the package."""
