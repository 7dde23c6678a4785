"""Command line: ``python -m clipaac_lib.metrics install-spice | prepare-meteor | check``.

- ``install-spice [--cache-dir DIR] [--force] [--keep-zip]``: download and check Stanford CoreNLP 3.6.0
  for SPICE (:func:`~clipaac_lib.metrics.spice_install.install_spice`);
- ``prepare-meteor``: build the METEOR paraphrase index now (otherwise the first evaluation does it);
- ``check``: print which Java is used and whether SPICE and the METEOR index are ready.

Notebook: ``notebooks/04_metrics.ipynb``.
"""

from __future__ import annotations

import argparse
import sys
import warnings

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m clipaac_lib.metrics", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    install = sub.add_parser("install-spice", help="install Stanford CoreNLP 3.6.0 for SPICE into the cache")
    install.add_argument("--cache-dir", default=None, help="folder for the jars (default: <cache>/spice)")
    install.add_argument("--force", action="store_true", help="reinstall even if verified jars are present")
    install.add_argument(
        "--keep-zip", action="store_true", help="keep Stanford's zip after extracting the jars"
    )
    install.add_argument(
        "--zip-url", default=None, help="mirror of stanford-corenlp-full-2015-12-09.zip ('' to skip)"
    )
    install.add_argument(
        "--maven-base",
        default=None,
        help="mirror of Maven Central's edu/stanford/nlp/stanford-corenlp/3.6.0 folder ('' to skip)",
    )
    sub.add_parser("prepare-meteor", help="build the METEOR paraphrase index (about 20 s, once)")
    sub.add_parser("check", help="show Java, SPICE and METEOR status")
    args = parser.parse_args(argv)

    if args.command == "install-spice":
        from dataclasses import replace

        from clipaac_lib.metrics import CoreNLPSource, SpiceInstallError, install_spice

        source = CoreNLPSource()
        if args.zip_url is not None:
            source = replace(source, zip_url=args.zip_url or None)
        if args.maven_base is not None:
            source = replace(source, maven_base=args.maven_base or None)
        with warnings.catch_warnings(record=True) as notes:  # summarised below instead
            warnings.simplefilter("always", RuntimeWarning)
            try:
                lib = install_spice(args.cache_dir, source=source, force=args.force, keep_zip=args.keep_zip)
            except SpiceInstallError as err:
                print(f"error: {err}", file=sys.stderr)
                return 1
        for note in notes:
            print(f"note: {note.message}", file=sys.stderr)
        print(f"SPICE is ready: Stanford CoreNLP 3.6.0 in {lib}")
        return 0
    if args.command == "prepare-meteor":
        from clipaac_lib.metrics import build_index

        print(f"METEOR paraphrase index written to {build_index()}")
        return 0

    from clipaac_lib.metrics import (
        SPICE_INSTALL_COMMAND,
        JavaNotFoundError,
        find_java,
        java_version,
        load_index,
        spice_available,
        spice_dir,
    )

    try:
        java = find_java()
        print(f"java: {java} (version {java_version(java)})")
    except JavaNotFoundError as err:
        print(f"java: missing. {err}")
    ready = spice_available()
    print(f"spice: {'ready' if ready else 'not installed (' + SPICE_INSTALL_COMMAND + ')'} in {spice_dir()}")
    index = load_index(build=False)
    print("meteor index: " + (f"ready, {len(index)} entries" if index else "not built yet (prepare-meteor)"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
