"""`hotline prompts`: the catalogs for translators (export, import) and coverage (audit)."""
from __future__ import annotations

from pathlib import Path

import click

import prompts
from prompts import audit


@click.group("prompts")
def prompts_group() -> None:
    """Every word the line says or sends, per language."""


@prompts_group.command("audit")
def audit_command() -> None:
    """Coverage per language and channel, review status, and the speaking plan."""
    click.echo(audit.report())


def _language(lang: str) -> str:
    if lang not in prompts.languages():
        raise click.BadParameter(f"{lang!r} is not one of {', '.join(prompts.languages())}")
    return lang


@prompts_group.command("export")
@click.argument("lang", callback=lambda ctx, p, v: _language(v))
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), help="file (default: stdout)")
def export_command(lang: str, output: Path | None) -> None:
    """A CSV sheet (key, English, LANG, status) for the translators of LANG."""
    sheet = audit.export_csv(lang)
    if output:
        output.write_text(sheet, encoding="utf-8")
        click.echo(f"Wrote {output}", err=True)
    else:
        click.echo(sheet, nl=False)


@prompts_group.command("import")
@click.argument("lang", callback=lambda ctx, p, v: _language(v))
@click.argument("sheet", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_command(lang: str, sheet: Path) -> None:
    """Take a filled-in sheet back into prompts/catalog/LANG.yaml (placeholders are checked)."""
    if lang == prompts.BASE:
        raise click.ClickException("English is the base catalog: edit prompts/catalog/en.yaml directly.")
    try:
        changed = audit.import_csv(lang, sheet.read_text(encoding="utf-8"))
    except audit.SheetError as e:
        raise click.ClickException(f"{sheet}: {e}")
    click.echo(f"{changed} entries of {lang} changed.")
