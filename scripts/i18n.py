"""Translation catalogues: ``update`` extracts strings and merges them into both catalogues
(English entries are filled with their source text), ``compile`` builds the .mo files, and
``check`` lists what is missing or fuzzy. Run with the project's virtualenv Python."""

import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "marketplace" / "translations"
POT = TRANSLATIONS / "messages.pot"
LOCALES = ("zh", "en")
PYBABEL = [sys.executable, "-m", "babel.messages.frontend", "--quiet"]


def catalog_path(locale):
    return TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po"


def extract():
    subprocess.run(
        PYBABEL
        + [
            "extract",
            "-F",
            str(ROOT / "babel.cfg"),
            "-k",
            "_l",
            "-k",
            "lazy_gettext",
            "-k",
            "_lp:1c,2",
            "-k",
            "lazy_pgettext:1c,2",
            "--no-location",
            "--sort-output",
            "--omit-header",
            "-o",
            str(POT),
            str(ROOT),
        ],
        check=True,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )


def update():
    extract()
    subprocess.run(
        PYBABEL + ["update", "-i", str(POT), "-d", str(TRANSLATIONS), "--no-fuzzy-matching", "--ignore-obsolete"],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    path = catalog_path("en")
    with path.open("rb") as f:
        catalog = read_po(f, locale="en")
    for message in catalog:
        if not message.id:
            continue
        if isinstance(message.id, tuple):  # plural: the English forms are the source's
            if not any(message.string):
                message.string = tuple(message.id)
        elif not message.string:
            message.string = message.id
    with path.open("wb") as f:
        write_po(f, catalog, sort_output=True, ignore_obsolete=True)


def compile_catalogs():
    subprocess.run(PYBABEL + ["compile", "-d", str(TRANSLATIONS), "--statistics"], check=True)


def problems():
    """(locale, msgid, problem) for every untranslated or fuzzy entry, and every extracted
    string missing from a catalogue."""
    found = []
    with POT.open("rb") as f:
        template_ids = {m.id for m in read_po(f) if m.id}
    for locale in LOCALES:
        with catalog_path(locale).open("rb") as f:
            catalog = read_po(f, locale=locale)
        ids = set()
        for message in catalog:
            if not message.id:
                if message.fuzzy:  # a fuzzy header stops the whole catalogue from compiling
                    found.append((locale, "(header)", "fuzzy"))
                continue
            ids.add(message.id)
            strings = message.string if isinstance(message.string, tuple) else (message.string,)
            if not all(strings):
                found.append((locale, message.id, "untranslated"))
            if message.fuzzy:
                found.append((locale, message.id, "fuzzy"))
        for missing in sorted(template_ids - ids, key=str):
            found.append((locale, missing, "missing"))
    return found


def main(argv):
    command = argv[1] if len(argv) > 1 else "check"
    if command == "update":
        update()
    elif command == "compile":
        compile_catalogs()
        return 0
    elif command != "check":
        print(__doc__)
        return 2
    issues = problems()
    for locale, msgid, problem in issues:
        print(f"{locale}: {problem}: {msgid!r}")
    return 1 if issues else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
